package org.sls.tests;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The control plane as a user drives it: a real slsd on a temporary image, the real slsctl.
 */
class ControlPlaneTest {

    @Test
    void partitionsAreCreatedListedDeletedAndSurviveADaemonRestart(@TempDir Path tmp) throws Exception {
        try (Sls sls = Sls.start(tmp)) {
            CliResult add = sls.ctl("partadd", "-o", "web", "--mode", "full", "--period", "250", "--keep", "5");
            assertEquals(0, add.exit(), add.all());
            assertTrue(add.out().contains("partition web created"), add.all());
            assertEquals(0, sls.ctl("pa", "-o", "db", "--backend", "memory").exit());

            CliResult status = sls.ctl("status", "-H");
            assertEquals(0, status.exit(), status.all());
            List<String> lines = status.out().lines().toList();
            assertEquals(2, lines.size(), status.all());
            String[] web = lines.stream().filter(l -> l.startsWith("web\t")).findFirst().orElseThrow().split("\t");
            assertEquals("slos", web[1]);
            assertEquals("full", web[2]);
            assertEquals("250ms", web[3]);
            assertEquals("5", web[4]);
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("db\tmemory (lost on restart)\tdelta")), status.all());

            CliResult json = sls.ctl("status", "--json");
            assertTrue(json.out().contains("\"name\":\"web\"") && json.out().contains("\"periodMs\":250"), json.all());
            CliResult snaps = sls.ctl("listsnaps", "-o", "web", "-H");
            assertEquals(0, snaps.exit(), snaps.all());
            assertEquals("", snaps.out(), "no checkpoint yet");

            assertEquals(0, sls.stopDaemon());
            sls.startDaemon();
            CliResult after = sls.ctl("status", "-H");
            assertTrue(after.out().lines().anyMatch(l -> l.startsWith("web\tslos\tfull\t250ms\t5")), after.all());
            assertTrue(after.out().lines().anyMatch(l -> l.startsWith("db\t")), after.all());

            CliResult del = sls.ctl("partdel", "-o", "web");
            assertEquals(0, del.exit(), del.all());
            CliResult gone = sls.ctl("status", "-H");
            assertFalse(gone.out().contains("web"), gone.all());
        }
    }

    @Test
    void partitionNamesThatExistOrDoNotGetClearMessages(@TempDir Path tmp) {
        try (Sls sls = Sls.start(tmp)) {
            assertEquals(0, sls.ctl("partadd", "-o", "p1").exit());
            CliResult again = sls.ctl("partadd", "-o", "p1");
            assertEquals(1, again.exit(), again.all());
            assertTrue(again.err().contains("partition p1 already exists"), again.all());
            CliResult missing = sls.ctl("partdel", "-o", "nope");
            assertEquals(1, missing.exit(), missing.all());
            assertTrue(missing.err().contains("no partition named nope"), missing.all());
            CliResult badName = sls.ctl("partadd", "-o", "../etc");
            assertEquals(1, badName.exit(), badName.all());
            assertTrue(badName.err().contains("invalid partition name"), badName.all());
            CliResult badMode = sls.ctl("partadd", "-o", "p2", "--mode", "sometimes");
            assertTrue(badMode.err().contains("unknown mode \"sometimes\""), badMode.all());
            CliResult snaps = sls.ctl("listsnaps", "-o", "nope");
            assertEquals(1, snaps.exit(), snaps.all());
            assertTrue(snaps.err().contains("no partition named nope"), snaps.all());
        }
    }

    @Test
    void slsctlWithoutADaemonSaysSoAndExitsThree(@TempDir Path tmp) {
        Path sock = tmp.resolve("nobody-here.sock");
        CliResult r = Sls.run(List.of(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), "org.sls.slsctl.Slsctl", "status", "--socket", sock.toString()), java.time.Duration.ofMinutes(1));
        assertEquals(3, r.exit(), r.all());
        assertTrue(r.err().contains("cannot reach slsd at " + sock + ": is it running?"), r.all());
    }

    @Test
    void aSecondDaemonOnTheSameStoreRefusesToStart(@TempDir Path tmp) throws Exception {
        try (Sls sls = Sls.start(tmp)) {
            Process second = sls.launchDaemon(tmp.resolve("other.sock"));
            try {
                assertTrue(second.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "second slsd should exit");
                assertEquals(1, second.exitValue());
            } finally {
                Sls.stop(second);
            }
            String log = sls.daemonLog();
            assertTrue(log.contains("cannot start") && log.contains(sls.store().toString()) && log.toLowerCase().contains("open"), log);
            CliResult stillServing = sls.ctl("status");
            assertEquals(0, stillServing.exit(), stillServing.all());
        }
    }

    @Test
    void daemonSocketIsGroupOnlyAndGoneAfterSigtermAndNothingOnStdout(@TempDir Path tmp) throws Exception {
        Sls sls = Sls.start(tmp);
        try {
            assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(sls.socket())));
            assertEquals(0, sls.ctl("partadd", "-o", "x").exit());
            assertEquals(0, sls.stopDaemon(), sls.daemonLog());
            assertFalse(Files.exists(sls.socket()), "socket removed on SIGTERM");
            assertEquals("", sls.daemonStdout(), "slsd writes nothing to stdout");
            assertTrue(sls.daemonLog().contains("stopped"), sls.daemonLog());
        } finally {
            sls.close();
        }
    }

    @Test
    void checkListsTheKernelFeatures(@TempDir Path tmp) {
        try (Sls sls = Sls.start(tmp)) {
            CliResult r = sls.ctl("check", "-H");
            assertEquals(0, r.exit(), r.all());
            assertTrue(r.out().lines().anyMatch(l -> l.startsWith("ptrace\tyes")), r.all());
            assertTrue(r.out().lines().anyMatch(l -> l.startsWith("clone3-set-tid\t")), r.all());
            assertTrue(r.out().lines().anyMatch(l -> l.startsWith("fuse\t")), r.all());
        }
    }
}
