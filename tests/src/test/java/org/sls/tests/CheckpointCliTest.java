package org.sls.tests;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.libsls.protocol.Codec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Checkpoints as a user takes them: attach or spawn real programs, checkpoint with slsctl,
 * see the epochs, and see refusals that leave the program running.
 */
class CheckpointCliTest {
    private final List<Long> started = new ArrayList<>();

    @AfterEach
    void endWorkloads() {
        started.forEach(Workloads::kill);
    }

    private Process start(String... cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        started.add(p.pid());
        return p;
    }

    @Test
    void attachCheckpointListAndStatus(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("counter.log");
        Process counter = start(Workloads.binary("counter").toString(), report.toString());
        Workloads.awaitGrowth(report, 1, Duration.ofSeconds(30));
        try (Sls sls = Sls.start(tmp)) {
            CliResult fine = sls.ctl("check", "--pid", Long.toString(counter.pid()));
            assertEquals(0, fine.exit(), fine.all());
            assertTrue(fine.out().contains("pid " + counter.pid() + ": can be checkpointed"), fine.all());
            CliResult attach = sls.ctl("attach", "-p", Long.toString(counter.pid()));
            assertEquals(0, attach.exit(), attach.all());
            assertTrue(attach.out().contains("attached to partition default"), attach.all());

            CliResult first = sls.ctl("checkpoint", "--json");
            assertEquals(0, first.exit(), first.all() + sls.daemonLog());
            JsonNode j = Codec.MAPPER.readTree(first.out());
            long e1 = j.get("epoch").longValue();
            assertTrue(e1 > 0);
            assertTrue(j.get("pages").longValue() >= (4 << 20) / 4096, "the 4 MiB buffer is in the first checkpoint: " + first.out());
            assertTrue(j.get("frozenMicros").longValue() > 0 && j.get("bytes").longValue() > 0, first.out());
            assertEquals(counter.pid(), j.get("pids").get(0).longValue());

            CliResult second = sls.ctl("checkpoint", "--wait");
            assertEquals(0, second.exit(), second.all());
            long e2 = Long.parseLong(second.out().trim());
            assertTrue(e2 > e1);

            CliResult snaps = sls.ctl("listsnaps", "-o", "default", "-H");
            List<String> rows = snaps.out().lines().toList();
            assertEquals(2, rows.size(), snaps.all());
            assertTrue(rows.get(1).startsWith("default\t" + e2 + "\t" + e1 + "\t"), "second builds on first: " + snaps.all());

            CliResult status = sls.ctl("status", "-H");
            String row = status.out().lines().filter(l -> l.startsWith("default\t")).findFirst().orElseThrow();
            String[] f = row.split("\t");
            assertEquals(Long.toString(counter.pid()), f[5]);
            assertEquals(Long.toString(e2), f[7]);
            assertEquals("2", f[8]);
            assertEquals("uffd-wp-async", f[12]);
            assertEquals(0, sls.ctl("epochwait", "-o", "default", Long.toString(e2)).exit());
            CliResult never = sls.ctl("epochwait", "-o", "default", Long.toString(e2 + 1000));
            assertEquals(1, never.exit(), never.all());

            int before = Workloads.count(report);
            Workloads.awaitGrowth(report, before, Duration.ofSeconds(30));
            assertTrue(counter.isAlive(), "the checkpointed process runs on");
            String last = Workloads.lastLine(report);
            assertEquals(1, Workloads.field(last, "ok"), "its memory stays consistent: " + last);
        }
    }

    @Test
    void spawnedProgramIsInThePartitionAndDetachWorks(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("spawned.log");
        try (Sls sls = Sls.start(tmp)) {
            assertEquals(0, sls.ctl("partadd", "-o", "job", "--mode", "full").exit());
            CliResult spawn = sls.ctl("spawn", "-o", "job", "--", Workloads.binary("counter").toString(), report.toString());
            assertEquals(0, spawn.exit(), spawn.all() + sls.daemonLog());
            long pid = Long.parseLong(spawn.out().trim());
            started.add(pid);
            Workloads.awaitGrowth(report, 1, Duration.ofSeconds(30));
            assertTrue(Workloads.lines(report).get(0).startsWith("pid=" + pid + " count=1 "), "runs from its first instruction");
            CliResult ck = sls.ctl("checkpoint", "-o", "job");
            assertEquals(0, ck.exit(), ck.all() + sls.daemonLog());
            assertTrue(sls.ctl("status", "-H").out().contains("job\tslos\tfull\t-\t16\t" + pid + "\t"), sls.ctl("status", "-H").out());
            assertEquals(0, sls.ctl("detach", "-p", Long.toString(pid)).exit());
            CliResult empty = sls.ctl("checkpoint", "-o", "job");
            assertEquals(1, empty.exit(), empty.all());
            assertTrue(empty.err().contains("partition job has no live process"), empty.all());
        }
    }

    @Test
    void anUnsupportedFdIsRefusedByNameAndTheProcessRunsOnUntouched(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("uffd.log");
        Process holder = start(Workloads.binary("uffd_holder").toString(), report.toString());
        Workloads.awaitGrowth(report, 1, Duration.ofSeconds(30));
        long pid = holder.pid();
        String fd = Long.toString(Workloads.field(Workloads.lines(report).get(0), "fd"));
        try (Sls sls = Sls.start(tmp)) {
            assertEquals(0, sls.ctl("partadd", "-o", "ev").exit());
            CliResult check = sls.ctl("check", "--pid", Long.toString(pid));
            assertEquals(1, check.exit(), "check tells in advance: " + check.all());
            assertTrue(check.out().contains("cannot be checkpointed") && check.out().contains("pid " + pid + " fd " + fd)
                    && check.out().contains("userfaultfd"), check.all());
            assertEquals(0, sls.ctl("attach", "-p", Long.toString(pid), "-o", "ev").exit());
            String mapsBefore = Files.readString(Path.of("/proc/" + pid + "/maps"));
            List<String> fdsBefore = fds(pid);
            CliResult r = sls.ctl("checkpoint", "-o", "ev");
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.err().contains("pid " + pid + " fd " + fd) && r.err().contains("userfaultfd"), r.all());
            assertEquals("", sls.ctl("listsnaps", "-o", "ev", "-H").out(), "nothing committed");
            assertEquals(mapsBefore, Files.readString(Path.of("/proc/" + pid + "/maps")), "no stray mappings");
            assertEquals(fdsBefore, fds(pid), "no stray fds");
            assertEquals("0", tracerPid(pid), "no ptrace left behind");
            int n = Workloads.count(report);
            Workloads.awaitGrowth(report, n, Duration.ofSeconds(30));
        }
    }

    @Test
    void aPipeSharedWithAProcessOutsideThePartitionIsRefusedUnlessExternal(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("pipe.log");
        Process parent = start(Workloads.binary("pipe_out").toString(), report.toString());
        String childLine = Workloads.awaitLine(report, l -> l.startsWith("child="), java.time.Duration.ofSeconds(30));
        long child = Long.parseLong(childLine.substring("child=".length()));
        started.add(child);
        String line = Workloads.awaitLine(report, l -> l.startsWith("pid="), java.time.Duration.ofSeconds(30));
        long fd = Workloads.field(line, "fd");
        long pid = parent.pid();
        try (Sls sls = Sls.start(tmp)) {
            assertEquals(0, sls.ctl("partadd", "-o", "half").exit());
            assertEquals(0, sls.ctl("attach", "-p", Long.toString(pid), "-o", "half").exit());
            CliResult refused = sls.ctl("checkpoint", "-o", "half");
            assertEquals(1, refused.exit(), refused.all());
            assertTrue(refused.err().contains("pid " + pid + " fd " + fd) && refused.err().contains(Long.toString(child)),
                    "names the pid, the fd and the outside holder: " + refused.all());
            CliResult ok = sls.ctl("checkpoint", "-o", "half", "--external");
            assertEquals(0, ok.exit(), ok.all() + sls.daemonLog());
            Workloads.kill(pid);
            Workloads.awaitGone(pid, java.time.Duration.ofSeconds(30));
            CliResult restored = sls.ctl("restore", "-o", "half");
            assertEquals(0, restored.exit(), restored.all() + sls.daemonLog());
            assertEquals("/dev/null", Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/" + fd)).toString(),
                    "the partition's end of the outside pipe comes back on /dev/null");
            int n = Workloads.count(report);
            Workloads.awaitGrowth(report, n, java.time.Duration.ofSeconds(30));
        }
    }

    @Test
    void aProcessHeldByAnotherTracerIsRefusedClearly(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("traced.log");
        Process target = start(Workloads.binary("counter").toString(), report.toString());
        Workloads.awaitGrowth(report, 1, Duration.ofSeconds(30));
        Process tracer = start(Workloads.binary("tracer").toString(), Long.toString(target.pid()));
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (tracerPid(target.pid()).equals("0") && System.nanoTime() < deadline) {
            Sls.sleep(20);
        }
        assertEquals(Long.toString(tracer.pid()), tracerPid(target.pid()));
        try (Sls sls = Sls.start(tmp)) {
            CliResult r = sls.ctl("attach", "-p", Long.toString(target.pid()));
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.err().contains("pid " + target.pid()) && r.err().contains("traced by pid " + tracer.pid()), r.all());
            CliResult ghost = sls.ctl("attach", "-p", "999999999");
            assertEquals(1, ghost.exit(), ghost.all());
            CliResult self = sls.ctl("attach", "-p", Long.toString(sls.daemon().pid()));
            assertEquals(1, self.exit(), self.all());
        }
    }

    private static List<String> fds(long pid) throws IOException {
        List<String> out = new ArrayList<>();
        try (var s = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            s.forEach(p -> {
                try {
                    out.add(p.getFileName() + "->" + Files.readSymbolicLink(p));
                } catch (IOException e) {
                    out.add(p.getFileName() + "->?");
                }
            });
        }
        out.sort(null);
        return out;
    }

    static String tracerPid(long pid) throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (l.startsWith("TracerPid:")) {
                return l.substring(10).trim();
            }
        }
        return "?";
    }
}
