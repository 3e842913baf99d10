package org.sls.tests;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The progress line of long operations, as a user sees it: a full checkpoint and a restore of a
 * 3 GiB process, each of which takes seconds here, run by slsctl on a terminal (under
 * {@code script}, which gives it one) show "checkpoint of big: ..." and "restore of big: ..."
 * with the stage, the bytes and the time; the same checkpoint with its output going to files
 * prints nothing but the epoch.
 */
class ProgressLineTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private final List<Long> started = new ArrayList<>();

    @AfterEach
    void endWorkloads() {
        started.forEach(Workloads::kill);
    }

    /** Runs slsctl on a terminal of its own; returns what the terminal showed (stdout and stderr). */
    private static CliResult onTerminal(Sls sls, String... args) {
        String line = sls.ctlCommand(args).stream().map(a -> "'" + a.replace("'", "'\\''") + "'")
                .collect(Collectors.joining(" "));
        return Sls.run(List.of("script", "-qefc", line, "/dev/null"), Duration.ofMinutes(3));
    }

    @Test
    void aLongCheckpointAndRestoreShowAProgressLineOnATerminalOnly(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("hog.log");
        try (Sls sls = Sls.format(tmp, "10G")) {
            sls.startDaemon();
            // every checkpoint full, and only the newest kept: each one writes all 3 GiB
            assertEquals(0, sls.ctl("partadd", "-o", "big", "--mode", "full", "--keep", "1").exit());
            CliResult spawn = sls.ctl("spawn", "-o", "big", "--", Workloads.binary("hog").toString(), report.toString(), "3072");
            assertEquals(0, spawn.exit(), spawn.all());
            long pid = Long.parseLong(spawn.out().trim());
            started.add(pid);
            Workloads.awaitGrowth(report, 1, WAIT);

            CliResult quiet = sls.ctl("checkpoint", "-o", "big");
            assertEquals(0, quiet.exit(), quiet.all() + sls.daemonLog());
            assertTrue(quiet.out().trim().matches("\\d+"), "only the epoch: " + quiet.all());
            assertEquals("", quiet.err(), "no progress line off a terminal: " + quiet.all());

            CliResult ck = onTerminal(sls, "checkpoint", "-o", "big");
            assertEquals(0, ck.exit(), ck.all() + sls.daemonLog());
            assertTrue(ck.out().matches("(?s).*checkpoint of big: [a-z ]*[^\\r]* \\d+\\.\\d s.*"),
                    "a progress line with what is being done and the time: " + ck.out());
            assertTrue(ck.out().matches("(?s).*\\d+\\.\\d [KMG]iB of 3\\.\\d GiB \\(\\d+%\\).*"),
                    "the bytes done of the whole: " + ck.out());
            // erased at the end: what stays on the terminal's last line is the epoch
            String shown = ck.out().stripTrailing();
            String last = shown.substring(shown.lastIndexOf('\r') + 1).trim();
            assertTrue(last.matches("\\d+"), "the epoch after the erased line: [" + last + "] in " + ck.out());

            Workloads.kill(pid);
            Workloads.awaitGone(pid, WAIT);
            CliResult restore = onTerminal(sls, "restore", "-o", "big");
            assertEquals(0, restore.exit(), restore.all() + sls.daemonLog());
            assertTrue(restore.out().contains("restore of big: "), "a progress line: " + restore.out());
            int before = Workloads.count(report);
            Workloads.awaitGrowth(report, before + 1, WAIT);
            assertFalse(Workloads.lines(report).get(Workloads.count(report) - 1).isEmpty());
        }
    }
}
