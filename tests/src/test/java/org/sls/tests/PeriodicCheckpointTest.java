package org.sls.tests;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.libsls.protocol.Codec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A partition with a period is checkpointed without anyone asking; status and the metrics file
 * show it; deleting the partition stops it.
 */
class PeriodicCheckpointTest {
    private final List<Long> started = new ArrayList<>();

    @AfterEach
    void endWorkloads() {
        started.forEach(Workloads::kill);
    }

    @Test
    void aPeriodicPartitionIsCheckpointedOnItsOwnAndReportsItsFigures(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("counter.log");
        Process counter = startCounter(report);
        Sls sls = Sls.format(tmp, "512M");
        Path metrics = tmp.resolve("metrics/sls.prom");
        try (sls) {
            sls.startDaemon("--metrics", metrics.toString());
            assertEquals(0, sls.ctl("partadd", "-o", "auto", "--period", "100", "--keep", "4").exit());
            assertEquals(0, sls.ctl("attach", "-p", Long.toString(counter.pid()), "-o", "auto").exit());
            // six: more than keep + 1, so that the newest epoch number shows some were pruned
            JsonNode part = awaitCheckpoints(sls, "auto", 6, Duration.ofMinutes(2));
            assertTrue(part.get("checkpointsPerSecond").doubleValue() > 0, part.toString());
            assertTrue(part.get("frozenP99Micros").longValue() >= part.get("frozenMedianMicros").longValue(), part.toString());
            assertTrue(part.get("effectivePeriodMs").doubleValue() >= 100 * 0.9, part.toString());
            assertEquals(0, part.get("failures").longValue(), part.toString());
            // the newest commit may not have pruned yet when status looks: one more than keep at most
            assertTrue(part.get("epochs").intValue() <= 5 && part.get("lastEpoch").longValue() > 5, "keep 4 prunes older checkpoints: " + part);
            // the first epoch, pruned since: the partition's durable state is beyond it
            CliResult first = sls.ctl("epochwait", "-o", "auto", "1");
            assertEquals(0, first.exit(), "an epoch pruned by --keep is durable all the same: " + first.all());

            // written every second: wait for a version that counts the checkpoints above
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            String text = "";
            while (System.nanoTime() < deadline) {
                text = Files.exists(metrics) ? Files.readString(metrics) : "";
                if (text.lines().anyMatch(l -> l.startsWith("sls_checkpoints_total{partition=\"auto\"} ") && !l.endsWith(" 0"))) {
                    break;
                }
                Sls.sleep(100);
            }
            assertTrue(text.contains("# TYPE sls_checkpoints_total counter"), text);
            assertTrue(text.lines().anyMatch(l -> l.startsWith("sls_checkpoints_total{partition=\"auto\"} ") && !l.endsWith(" 0")), text);
            assertTrue(text.contains("sls_frozen_seconds{partition=\"auto\",quantile=\"0.99\"}"), text);
            assertTrue(text.lines().anyMatch(l -> l.matches("sls_cpu_share 0\\.\\d+(E-\\d+)?")), text);

            CliResult del = sls.ctl("partdel", "-o", "auto");
            assertEquals(0, del.exit(), "deleting a partition while it is being checkpointed: " + del.all());
            assertTrue(sls.ctl("status", "-H").out().isEmpty(), "the partition and its processes are gone from status");
            int lines = Workloads.count(report);
            Workloads.awaitGrowth(report, lines, Duration.ofSeconds(30));
            assertTrue(counter.isAlive(), "the process outlives its partition");
            assertEquals("0", CheckpointCliTest.tracerPid(counter.pid()), "nothing traces it any more");
        }
    }

    @Test
    void aRefusedProcessIsRetriedLessAndLessOftenAndTheFailureIsShown(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("uffd.log");
        Process holder = new ProcessBuilder(Workloads.binary("uffd_holder").toString(), report.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectErrorStream(true).start();
        started.add(holder.pid());
        Workloads.awaitGrowth(report, 1, Duration.ofSeconds(30));
        try (Sls sls = Sls.start(tmp)) {
            assertEquals(0, sls.ctl("partadd", "-o", "refused", "--period", "10").exit());
            assertEquals(0, sls.ctl("attach", "-p", Long.toString(holder.pid()), "-o", "refused").exit());
            long attachedAt = System.nanoTime();
            JsonNode part = null;
            while (System.nanoTime() - attachedAt < Duration.ofSeconds(3).toNanos()) {
                Sls.sleep(200);
            }
            for (JsonNode p : Codec.MAPPER.readTree(sls.ctl("status", "--json").out()).get("partitions")) {
                if (p.get("name").textValue().equals("refused")) {
                    part = p;
                }
            }
            long failures = part.get("failures").longValue();
            assertTrue(failures >= 1, part.toString());
            assertTrue(part.get("lastFailure").textValue().contains("pid " + holder.pid() + " fd"), part.toString());
            // every 10 ms for 3 s would be ~300 attempts; backing off doubles the wait each time
            assertTrue(failures <= 20, "a repeating failure backs off: " + failures + " attempts in 3 s");
            // and status says why the period stretched: not the budgets, nor slow checkpoints
            assertEquals("backoff after failures", part.get("stretchedBy").textValue(), part.toString());
            assertEquals(0, part.get("checkpoints").longValue());
            int n = Workloads.count(report);
            Workloads.awaitGrowth(report, n, Duration.ofSeconds(30));
        }
    }

    /**
     * A checkpoint refused at its commit (a pipe's holders outside the partition changed: it is
     * taken again) voids those captured after it, which hold only what changed since it; what
     * follows builds on the epoch truly committed before. The process's stdin is a pipe whose
     * write end a driver hands to a new child every 20 ms, keeping none itself, so that no outside
     * holder stays from one scan to the next and such refusals come by the dozen while checkpoints
     * run every 20 ms; after a SIGKILL the restored process finds its memory
     * as it was at one moment. Twice, with a new process and driver each time (the restored one's
     * stdin is /dev/null: the pipe's other end was outside).
     */
    @Test
    void checkpointsVoidedByAFailedCommitLeaveEveryEpochOnItsTrueParent(@TempDir Path tmp) throws Exception {
        Path driver = tmp.resolve("churn.py");
        Files.writeString(driver, String.join("\n",
                "import os, socket, subprocess, sys",
                "r, w = os.pipe()",
                "p = subprocess.Popen(sys.argv[1:], stdin=r, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)",
                "os.close(r)",
                "print(p.pid, flush=True)",
                "a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)",
                "while True:",
                "    # a new process holds the write end 20 ms, and no other: the driver parks it in a socket",
                "    c = subprocess.Popen(['sleep', '0.02'], pass_fds=(w,))",
                "    socket.send_fds(a, [b'w'], [w])",
                "    os.close(w)",
                "    c.wait()",
                "    w = socket.recv_fds(b, 1, 1)[1][0]",
                ""));
        Path sweeperBinary = Workloads.binary("sweeper", "-O2");
        Sls sls = Sls.format(tmp, "1G");
        try (sls) {
            Path conf = tmp.resolve("slsd.conf");
            Files.writeString(conf, "frozen.share.max = 1\ncpu.share.max = 1\n");
            sls.startDaemon("--config", conf.toString());
            for (int round = 1; round <= 2; round++) {
                String part = "churn" + round;
                Path report = tmp.resolve("sweeper" + round + ".log");
                Process churn = new ProcessBuilder("python3", driver.toString(), sweeperBinary.toString(), report.toString())
                        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
                started.add(churn.pid());
                long pid = Workloads.reportedPid(churn);
                started.add(pid);
                Workloads.awaitGrowth(report, 1, Duration.ofSeconds(30));
                assertEquals(0, sls.ctl("partadd", "-o", part, "--period", "20", "--keep", "4").exit());
                assertEquals(0, sls.ctl("attach", "-p", Long.toString(pid), "-o", part).exit());
                JsonNode status = awaitCheckpoints(sls, part, 150, Duration.ofMinutes(3));
                assertTrue(status.get("failures").longValue() > 0, "commits were refused and what followed voided: " + status);
                Workloads.kill(churn.pid()); // first: the sweeper's parent, which would not reap it
                Workloads.kill(pid);
                Workloads.awaitGone(pid, Duration.ofSeconds(30));
                int before = Workloads.count(report);
                CliResult restored = sls.ctl("restore", "-o", part);
                assertEquals(0, restored.exit(), restored.all() + sls.daemonLog());
                try {
                    Workloads.awaitGrowth(report, before + 2, Duration.ofSeconds(60));
                } catch (AssertionError e) {
                    throw new AssertionError(e.getMessage() + "; round " + round + ", after the restore: "
                            + Workloads.lines(report).subList(before, Workloads.count(report)) + "; the process: "
                            + processState(pid) + "\n" + sls.ctl("listsnaps", "-o", part).all() + sls.daemonLog(), e);
                }
                List<String> after = Workloads.lines(report).subList(before, Workloads.count(report));
                for (String l : after) {
                    assertTrue(l.startsWith("pid=" + pid + " pass=") && l.endsWith(" ok=1"),
                            "round " + round + ": the restored memory is that of one moment: " + after);
                }
                Workloads.kill(pid);
                Workloads.awaitGone(pid, Duration.ofSeconds(30));
            }
        }
    }

    /**
     * memory.precopy = on: a periodic delta checkpoint copies the written pages before it freezes
     * the process, and while frozen only those written since. A process that checks its own memory
     * page by page finds it, after a SIGKILL and a restore, as it was at one moment.
     */
    @Test
    void pagesCopiedBeforeTheFreezeComeBackAsTheyWereAtTheFreeze(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("sweeper.log");
        // stdin from /dev/null: refused commits, which some pipes bring, are the previous test's
        Process sweeper = new ProcessBuilder(Workloads.binary("sweeper", "-O2").toString(), report.toString())
                .redirectInput(new java.io.File("/dev/null"))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectErrorStream(true).start();
        started.add(sweeper.pid());
        Workloads.awaitGrowth(report, 1, Duration.ofSeconds(30));
        Path conf = tmp.resolve("slsd.conf");
        Sls sls = Sls.format(tmp, "512M");
        try (sls) {
            assertRefused(sls, conf, "memory.precopy = sometimes\n", "memory.precopy = 'sometimes' is neither on nor off");
            Files.writeString(conf, "memory.precopy = on\nfrozen.share.max = 1\ncpu.share.max = 1\n");
            sls.startDaemon("--config", conf.toString());
            assertEquals(0, sls.ctl("partadd", "-o", "sweep", "--period", "20", "--keep", "4").exit());
            assertEquals(0, sls.ctl("attach", "-p", Long.toString(sweeper.pid()), "-o", "sweep").exit());
            JsonNode part = awaitCheckpoints(sls, "sweep", 20, Duration.ofMinutes(2));
            assertEquals(0, part.get("failures").longValue(), part + sls.daemonLog());
            CliResult one = sls.ctl("checkpoint", "-o", "sweep", "--json");
            assertEquals(0, one.exit(), one.all() + sls.daemonLog());
            JsonNode phases = Codec.MAPPER.readTree(one.out()).get("phases");
            assertTrue(phases.has("precopy") && phases.has("freeze"), "copied before the freeze: " + one.out());
            // a few more periodic ones, so that the last is taken while the process runs on
            long n = part.get("checkpoints").longValue();
            awaitCheckpoints(sls, "sweep", n + 10, Duration.ofMinutes(2));
            assertTrue(Workloads.lastLine(report).endsWith(" ok=1"), Workloads.lastLine(report));

            Workloads.kill(sweeper.pid());
            Workloads.awaitGone(sweeper.pid(), Duration.ofSeconds(30));
            int before = Workloads.count(report);
            CliResult restored = sls.ctl("restore", "-o", "sweep");
            assertEquals(0, restored.exit(), restored.all() + sls.daemonLog());
            // two full passes after the restore: every page read back once, and once more
            try {
                Workloads.awaitGrowth(report, before + 2, Duration.ofSeconds(60));
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "; after the restore: "
                        + Workloads.lines(report).subList(before, Workloads.count(report)) + "; the process: "
                        + processState(sweeper.pid()) + "\n" + sls.ctl("status").all() + sls.daemonLog(), e);
            }
            List<String> after = Workloads.lines(report).subList(before, Workloads.count(report));
            for (String l : after) {
                assertTrue(l.startsWith("pid=" + sweeper.pid() + " pass=") && l.endsWith(" ok=1"),
                        "the restored memory is that of one moment: " + after);
            }
        }
    }

    /**
     * A period shorter than the frozen-time budget allows (frozen.share.max) stretches: the
     * processes are frozen at most that share of the time, and status says why the period is longer.
     */
    @Test
    void thePeriodStretchesToKeepTheProcessesWithinTheFrozenTimeBudget(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("counter.log");
        Process counter = startCounter(report);
        Path conf = tmp.resolve("slsd.conf");
        Sls sls = Sls.format(tmp, "512M");
        try (sls) {
            assertRefused(sls, conf, "frozen.share.max = 150%\n", "frozen.share.max = '150%' is not a share of the time");
            assertRefused(sls, conf, "frozen.share.max = 5%\nmemory.hot.share = 0\n",
                    "memory.hot.share = '0' is not a share above 0 and at most 1");
            // the CPU budget lifted: here the frozen-time one is the bound
            Files.writeString(conf, "frozen.share.max = 5%\nmemory.hot.share = off\ncpu.share.max = 1\n");
            sls.startDaemon("--config", conf.toString());
            assertEquals(0, sls.ctl("partadd", "-o", "fast", "--period", "1").exit());
            assertEquals(0, sls.ctl("attach", "-p", Long.toString(counter.pid()), "-o", "fast").exit());
            JsonNode part = awaitCheckpoints(sls, "fast", 8, Duration.ofMinutes(2));
            assertEquals(0, part.get("failures").longValue(), part.toString());
            assertEquals("frozen-time budget", part.get("stretchedBy").textValue(), part.toString());
            // frozen f ms, then the next checkpoint f / 5% later at the earliest (moving averages: half of it)
            double frozenMs = part.get("frozenMedianMicros").longValue() / 1000.0;
            assertTrue(part.get("effectivePeriodMs").doubleValue() >= 0.5 * frozenMs / 0.05, part.toString());
            CliResult table = sls.ctl("status");
            assertTrue(table.out().contains(": frozen-time budget)"), table.all());

            // the process exits: the partition is left idle, which is no failure (one checkpoint
            // that it dies in the middle of fails, as any would)
            Workloads.kill(counter.pid());
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!part.get("attached").isEmpty() && System.nanoTime() < deadline) {
                Sls.sleep(50);
                part = awaitCheckpoints(sls, "fast", 0, Duration.ofSeconds(10));
            }
            assertTrue(part.get("attached").isEmpty(), "the dead process left the partition: " + part);
            Sls.sleep(300);
            part = awaitCheckpoints(sls, "fast", 0, Duration.ofSeconds(10));
            assertTrue(part.get("failures").longValue() <= 1 && !part.get("lastFailure").textValue().contains("no live process"),
                    "a partition whose process is gone is idle, not failing: " + part);
        }
    }

    /**
     * A period shorter than slsd's CPU budget allows (cpu.share.max) stretches: slsd's threads use
     * at most that share of the machine's cores, measured here from /proc, and status says why the
     * period is longer. Without the budget these checkpoints every millisecond take most of a core.
     */
    @Test
    void thePeriodStretchesToKeepSlsdWithinItsCpuBudget(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("counter.log");
        Process counter = startCounter(report);
        Path conf = tmp.resolve("slsd.conf");
        Sls sls = Sls.format(tmp, "512M");
        try (sls) {
            assertRefused(sls, conf, "cpu.share.max = none\n", "cpu.share.max = 'none' is not a share of the time");
            double share = 0.02;
            Files.writeString(conf, "frozen.share.max = 1\ncpu.share.max = 2%\n");
            sls.startDaemon("--config", conf.toString());
            assertEquals(0, sls.ctl("partadd", "-o", "fast", "--period", "1").exit());
            assertEquals(0, sls.ctl("attach", "-p", Long.toString(counter.pid()), "-o", "fast").exit());
            JsonNode part = awaitCheckpoints(sls, "fast", 5, Duration.ofMinutes(2));
            long slsd = Codec.MAPPER.readTree(sls.ctl("status", "--json").out()).get("pid").longValue();
            long before = slsdThreadsCpuTicks(slsd);
            long checkpointsBefore = part.get("checkpoints").longValue();
            Sls.sleep(5_000);
            long used = slsdThreadsCpuTicks(slsd) - before;
            part = awaitCheckpoints(sls, "fast", checkpointsBefore + 1, Duration.ofMinutes(1));
            assertEquals(0, part.get("failures").longValue(), part.toString());
            assertEquals("CPU budget", part.get("stretchedBy").textValue(), part.toString());
            // over 5 s, 2% of the cores, with room for the moving average's lag and the status calls
            double allowed = 3 * share * Runtime.getRuntime().availableProcessors() * 5 * 100;
            assertTrue(used <= allowed, "slsd's threads used " + used + " ticks of CPU in 5 s, more than "
                    + allowed + ": " + part);
            // status's own figure: the same threads over about the last 10 s
            JsonNode status = Codec.MAPPER.readTree(sls.ctl("status", "--json").out());
            assertEquals(share, status.get("cpuShareMax").doubleValue(), 1e-9, status.toString());
            assertTrue(status.get("cpuShare").doubleValue() > 0 && status.get("cpuShare").doubleValue() <= 3 * share,
                    status.toString());
            CliResult table = sls.ctl("status");
            assertTrue(table.out().contains(": CPU budget)"), table.all());
            assertTrue(table.out().contains("of the machine over 10 s, budget 2.0%)"), table.all());
        }
    }

    /**
     * Each freeze runs the frozen threads at realtime priority (freeze.realtime, on by default) and
     * puts every thread's scheduling back before it runs its own code again: after checkpoints
     * every 10 ms, a SCHED_BATCH process at nice 7 with SCHED_RESET_ON_FORK and a SCHED_RR one at
     * priority 5 have exactly the policy, priority and nice value they had. {@code slsctl check}
     * says the realtime policy may be used.
     */
    @Test
    void checkpointsLeaveEveryProcessItsOwnScheduling(@TempDir Path tmp) throws Exception {
        Process batch = startCounter(tmp.resolve("batch.log"), "nice", "-n", "7", "chrt", "--batch", "--reset-on-fork", "0");
        Process rr = startCounter(tmp.resolve("rr.log"), "chrt", "--rr", "5");
        String batchBefore = scheduling(batch.pid());
        String rrBefore = scheduling(rr.pid());
        assertTrue(batchBefore.contains("SCHED_BATCH|SCHED_RESET_ON_FORK") && batchBefore.contains("nice 7"), batchBefore);
        assertTrue(rrBefore.contains("SCHED_RR") && rrBefore.contains("priority: 5"), rrBefore);
        Sls sls = Sls.format(tmp, "512M");
        try (sls) {
            sls.startDaemon();
            CliResult check = sls.ctl("check", "-H");
            assertTrue(check.out().lines().anyMatch(l -> l.startsWith("realtime\tyes")), check.all());
            assertEquals(0, sls.ctl("partadd", "-o", "sched", "--period", "10", "--keep", "2").exit());
            for (Process p : List.of(batch, rr)) {
                CliResult a = sls.ctl("attach", "-p", Long.toString(p.pid()), "-o", "sched");
                assertEquals(0, a.exit(), a.all());
            }
            JsonNode part = awaitCheckpoints(sls, "sched", 50, Duration.ofMinutes(2));
            assertEquals(0, part.get("failures").longValue(), part.toString());
            for (Process p : List.of(batch, rr)) {
                CliResult d = sls.ctl("detach", "-p", Long.toString(p.pid()));
                assertEquals(0, d.exit(), d.all());
            }
            assertEquals(batchBefore, scheduling(batch.pid()));
            assertEquals(rrBefore, scheduling(rr.pid()));
        }
    }

    /** What {@code chrt -p} says of a process's main thread, and its nice value (field 19 of /proc/PID/stat). */
    private static String scheduling(long pid) throws Exception {
        CliResult chrt = Sls.run(List.of("chrt", "-p", Long.toString(pid)), Duration.ofSeconds(10));
        assertEquals(0, chrt.exit(), chrt.all());
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return chrt.out().strip() + "\nnice " + f[16];
    }

    /**
     * The CPU time (clock ticks, 100 a second) of slsd's own threads (named sls-* and slos-*: not the
     * JVM's compiler or collector), from /proc.
     */
    private static long slsdThreadsCpuTicks(long pid) throws Exception {
        long ticks = 0;
        try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : tasks.toList()) {
                String stat;
                try {
                    stat = Files.readString(t.resolve("stat"));
                } catch (java.io.IOException gone) {
                    continue;
                }
                String comm = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                if (!comm.startsWith("sls") && !comm.startsWith("slos")) {
                    continue;
                }
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14, 15)
            }
        }
        return ticks;
    }

    /** The State and TracerPid lines of a process's status, or "gone". */
    private static String processState(long pid) throws Exception {
        Path status = Path.of("/proc/" + pid + "/status");
        return Files.exists(status) ? Files.readAllLines(status).stream()
                .filter(l -> l.startsWith("State:") || l.startsWith("TracerPid:")).toList().toString() : "gone";
    }

    /** slsd refuses to start with {@code conf} holding {@code text}, with an error that says {@code says}. */
    private static void assertRefused(Sls sls, Path conf, String text, String says) throws Exception {
        Files.writeString(conf, text);
        IllegalStateException bad = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> sls.startDaemon("--config", conf.toString()));
        assertTrue(bad.getMessage().contains(says), bad.getMessage());
    }

    /** The counter workload, reporting to {@code report}, once it has reported. */
    private Process startCounter(Path report, String... launcher) throws Exception {
        List<String> argv = new ArrayList<>(List.of(launcher));
        argv.add(Workloads.binary("counter").toString());
        argv.add(report.toString());
        Process counter = new ProcessBuilder(argv)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectErrorStream(true).start();
        started.add(counter.pid());
        Workloads.awaitGrowth(report, 1, Duration.ofSeconds(30));
        return counter;
    }

    static JsonNode awaitCheckpoints(Sls sls, String partition, long n, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            CliResult r = sls.ctl("status", "--json");
            for (JsonNode p : Codec.MAPPER.readTree(r.out()).get("partitions")) {
                if (p.get("name").textValue().equals(partition)) {
                    last = p;
                    if (p.get("checkpoints").longValue() >= n) {
                        return p;
                    }
                }
            }
            Sls.sleep(200);
        }
        throw new AssertionError("partition " + partition + " did not reach " + n + " checkpoints: " + last + "\n" + sls.daemonLog());
    }
}
