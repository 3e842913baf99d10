package org.sls.tests;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every kind sls refuses, as a user meets it: {@code slsctl check --pid} names the pid, the fd and
 * the kind in advance, and a checkpoint is refused with the same words, commits nothing and leaves
 * the process running untouched (same mappings and fds, no tracer, still making progress).
 */
class RefusalsCliTest {
    private final List<Long> started = new ArrayList<>();

    @AfterEach
    void endWorkloads() {
        started.forEach(Workloads::kill);
    }

    /** Workload kind → what the message says after "pid P " ("FD" stands for the fd the workload reports). */
    private static final Map<String, String> EXPECTED = new LinkedHashMap<>();

    static {
        EXPECTED.put("io_uring", "fd FD (anon_inode:[io_uring], io_uring instance): not supported yet");
        EXPECTED.put("bpf_map", "fd FD (anon_inode:bpf-map, BPF map): not supported yet");
        EXPECTED.put("perf_event", "fd FD (anon_inode:[perf_event], perf event): not supported yet");
        EXPECTED.put("fanotify", "fd FD (anon_inode:[fanotify], fanotify instance): not supported yet");
        EXPECTED.put("userfaultfd", "fd FD (anon_inode:[userfaultfd], userfaultfd owned by the process): not supported yet");
        EXPECTED.put("pidfd", "fd FD (anon_inode:[pidfd], pidfd of pid PARENT, outside the partition): not supported");
        EXPECTED.put("scm_rights", "fds in flight (SCM_RIGHTS): not supported");
        EXPECTED.put("uts_ns", "in another uts namespace");
    }

    @Test
    void eachRefusedKindIsNamedByCheckAndByCheckpointAndTheProcessRunsOn(@TempDir Path tmp) throws Exception {
        try (Sls sls = Sls.start(tmp)) {
            int n = 0;
            for (Map.Entry<String, String> e : EXPECTED.entrySet()) {
                String kind = e.getKey();
                Path report = tmp.resolve(kind + ".log");
                Process p = new ProcessBuilder(Workloads.binary("refused").toString(), kind, report.toString())
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                started.add(p.pid());
                Workloads.awaitGrowth(report, 1, Duration.ofSeconds(30));
                long pid = p.pid();
                String fd = Long.toString(Workloads.field(Workloads.lines(report).get(0), "fd"));
                String expected = e.getValue().replace("FD", fd).replace("PARENT", Long.toString(ProcessHandle.current().pid()));
                String who = "pid " + pid + " " + (kind.equals("scm_rights") ? "fd " : "");

                CliResult check = sls.ctl("check", "--pid", Long.toString(pid));
                assertEquals(1, check.exit(), kind + ": check tells in advance: " + check.all());
                assertTrue(check.out().contains("cannot be checkpointed") && check.out().contains(who)
                        && check.out().contains(expected), kind + ": " + check.all());

                String part = "r" + n++;
                assertEquals(0, sls.ctl("partadd", "-o", part).exit());
                assertEquals(0, sls.ctl("attach", "-p", Long.toString(pid), "-o", part).exit());
                String mapsBefore = Files.readString(Path.of("/proc/" + pid + "/maps"));
                List<String> fdsBefore = fds(pid);
                CliResult r = sls.ctl("checkpoint", "-o", part);
                assertEquals(1, r.exit(), kind + ": " + r.all());
                assertTrue(r.err().contains(who) && r.err().contains(expected), kind + ": " + r.all());
                assertEquals(mapsBefore, Files.readString(Path.of("/proc/" + pid + "/maps")), kind + ": no stray mappings");
                assertEquals(fdsBefore, fds(pid), kind + ": no stray fds");
                assertEquals("0", CheckpointCliTest.tracerPid(pid), kind + ": no ptrace left behind");
                int lines = Workloads.count(report);
                Workloads.awaitGrowth(report, lines, Duration.ofSeconds(30));
            }
            assertEquals("", sls.ctl("listsnaps", "-H").out(), "nothing committed in any partition");
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
}
