package org.sls.tests;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Timers as a user meets them: {@code slsctl check --pid} on a program with POSIX and interval
 * timers, its checkpoint, SIGKILL and restore (the timers keep ticking under the same ids), and
 * a timer sls cannot restore named by check and by checkpoint while the program runs on.
 */
class TimersCliTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private final List<Long> started = new ArrayList<>();

    @AfterEach
    void endWorkloads() {
        started.forEach(Workloads::kill);
    }

    private long start(String... cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        started.add(p.pid());
        return p.pid();
    }

    @Test
    void aProgramWithTimersIsCheckedCheckpointedAndRestoredTicking(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("ticker.log");
        long pid = start(Workloads.binary("ticker").toString(), report.toString());
        Workloads.awaitGrowth(report, 2, WAIT);
        try (Sls sls = Sls.start(tmp)) {
            CliResult check = sls.ctl("check", "--pid", Long.toString(pid));
            assertEquals(0, check.exit(), check.all());
            assertTrue(check.out().contains("pid " + pid + ": can be checkpointed"), check.all());
            assertEquals(0, sls.ctl("attach", "-p", Long.toString(pid)).exit());
            CliResult ck = sls.ctl("checkpoint", "--wait");
            assertEquals(0, ck.exit(), ck.all() + sls.daemonLog());
            String timers = Files.readString(Path.of("/proc/" + pid + "/timers"));
            Workloads.kill(pid);
            Workloads.awaitGone(pid, WAIT);
            int from = Workloads.count(report);

            CliResult r = sls.ctl("restore");
            assertEquals(0, r.exit(), r.all() + sls.daemonLog());
            started.add(pid);
            assertEquals(timers, Files.readString(Path.of("/proc/" + pid + "/timers")),
                    "the same timer id, signal, target and clock");
            Workloads.awaitGrowth(report, from + 3, WAIT);
            List<String> after = Workloads.lines(report).subList(from, from + 3);
            long last = -1;
            for (String line : after) {
                assertEquals(pid, Workloads.field(line, "pid"), line);
                assertTrue(Workloads.field(line, "ticks") > last, "the POSIX timer ticks on: " + after);
                last = Workloads.field(line, "ticks");
            }
            assertTrue(Workloads.field(after.get(2), "alarms") > Workloads.field(after.get(0), "alarms"),
                    "ITIMER_REAL ticks on: " + after);
        }
    }

    @Test
    void aTimerOnAnotherProcesssCpuClockIsNamedByCheckAndByCheckpoint(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("ticker.log");
        long me = ProcessHandle.current().pid();
        long pid = start(Workloads.binary("ticker").toString(), report.toString(), Long.toString(me));
        Workloads.awaitGrowth(report, 2, WAIT);
        String first = Workloads.lines(report).get(0);
        String named = "pid " + pid + " POSIX timer " + Workloads.field(first, "foreign") + " (clock "
                + Workloads.field(first, "clock") + ") runs on the CPU-time clock of pid " + me + ", another process";
        try (Sls sls = Sls.start(tmp)) {
            CliResult check = sls.ctl("check", "--pid", Long.toString(pid));
            assertEquals(1, check.exit(), check.all());
            assertTrue(check.out().contains("cannot be checkpointed") && check.out().contains(named), check.all());
            assertEquals(0, sls.ctl("attach", "-p", Long.toString(pid)).exit());
            CliResult ck = sls.ctl("checkpoint");
            assertEquals(1, ck.exit(), ck.all());
            assertTrue(ck.err().contains(named), ck.all());
            assertEquals("0", CheckpointCliTest.tracerPid(pid), "no ptrace left behind");
            int n = Workloads.count(report);
            Workloads.awaitGrowth(report, n + 2, WAIT);
        }
    }
}
