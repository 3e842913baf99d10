package org.sls.slsd.checkpoint;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.TestPrograms;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** A checkpoint that fails never harms its targets and commits nothing. */
class FailureTest {
    @TempDir
    Path tmp;

    @Test
    void aProcessDyingMidCheckpointFailsItAndLeavesTheOthersAsTheyWere() throws Exception {
        try (EngineFixture fx = new EngineFixture(tmp)) {
            fx.partition("p");
            Path out = tmp.resolve("s.out");
            int victim = fx.programs.start("counter", List.of(tmp.resolve("c.out").toString(), "512", "20"), -1);
            int bystander = fx.programs.start("sleeper", List.of(out.toString()), -1);
            TestPrograms.awaitLine(out, "ready"::equals, Duration.ofSeconds(10));
            TestPrograms.awaitLine(tmp.resolve("c.out"), l -> l.startsWith("counter="), Duration.ofSeconds(10));
            fx.engine.attach("p", victim, 0);
            fx.engine.attach("p", bystander, 0);
            CheckpointResult ok = fx.engine.checkpoint("p", false, "delta", 0);
            String before = EngineFixture.snapshot(bystander);
            // (a process killed after everything was captured, still frozen, leaves a consistent
            // snapshot taken before its death: that checkpoint commits)
            for (String step : List.of("frozen")) {
                int v = victim;
                fx.engine.onStep(s -> {
                    if (s.equals(step)) {
                        Linux.kill(v, 9);
                        fx.programs.reaper().awaitExit(v, Duration.ofSeconds(5));
                    }
                });
                CheckpointException e = assertThrows(CheckpointException.class,
                        () -> fx.engine.checkpoint("p", false, "delta", ok.epoch()), "killed when " + step);
                if (step.equals("frozen")) {
                    assertEquals(CheckpointException.Kind.NO_SUCH_PROCESS, e.kind(), e.getMessage());
                }
                assertTrue(e.getMessage().contains("pid"), e.getMessage());
                fx.engine.onStep(s -> { });
                assertEquals(before, EngineFixture.snapshot(bystander));
                assertEquals(List.of(ok.epoch()), fx.store.epochs("p").stream().map(org.sls.slos.EpochInfo::epoch).toList());
            }
            // the bystander still works, and the partition checkpoints again without the dead
            Linux.kill(bystander, 10);
            TestPrograms.awaitLine(out, "usr1=1"::equals, Duration.ofSeconds(10));
            CheckpointResult again = fx.engine.checkpoint("p", false, "delta", ok.epoch());
            assertEquals(List.of(bystander), again.pids());
        }
    }

    /**
     * A check that refuses the process (another uts namespace) fails the checkpoint while its 400
     * sockets are already being read beside the check: the error names the process, slsd keeps no
     * copy of a socket and no pidfd, and the process runs on with its sockets.
     */
    @Test
    void aRefusalWhileTheFdsAreBeingReadLeavesNothingOpenInSlsd() throws Exception {
        try (EngineFixture fx = new EngineFixture(tmp)) {
            fx.partition("p");
            int pid = fx.programs.startCommand(List.of("python3", "-c", "import ctypes,socket,time\n"
                    + "l=socket.socket(); l.bind(('127.0.0.1',0)); l.listen(300)\n"
                    + "cs=[socket.create_connection(l.getsockname()) for _ in range(200)]\n"
                    + "ss=[l.accept()[0] for _ in range(200)]\n"
                    + "assert ctypes.CDLL(None).unshare(0x04000000) == 0\n" // CLONE_NEWUTS
                    + "print('ready', flush=True)\ntime.sleep(120)"));
            TestPrograms.awaitLine(tmp.resolve("cmd.stdout"), "ready"::equals, Duration.ofSeconds(30));
            fx.engine.attach("p", pid, 0);
            long held = slsdSocketsAndPidfds();
            CheckpointException e = assertThrows(CheckpointException.class, () -> fx.engine.checkpoint("p", false, "full", 0));
            assertTrue(e.getMessage().contains("pid " + pid) && e.getMessage().contains("uts namespace"), e.getMessage());
            assertEquals(held, slsdSocketsAndPidfds(), "sockets and pidfds slsd holds after the refusal");
            assertTrue(fx.store.epochs("p").isEmpty());
            assertEquals(401, ProcFs.fds(pid).size() - 3, "the process's listener and connections");
            assertNotEquals('t', ProcFs.stat(pid).state(), "not left stopped");
        }
    }

    /** The sockets and pidfds among this JVM's (slsd's) fds. */
    private static long slsdSocketsAndPidfds() {
        return org.sls.slsd.linux.HostFds.of(Linux.getpid()).values().stream()
                .filter(l -> l.startsWith("socket:[") || l.equals("anon_inode:[pidfd]")).count();
    }

    /**
     * Killed right after the freeze (its registers then cannot be read) and while syscalls are
     * injected into its threads (a blocking wait for the killed leader would never return).
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"frozen", "injecting"})
    void aProcessKilledWhileFrozenIsLeftForItsOwnParentToReap(String step) throws Exception {
        try (EngineFixture fx = new EngineFixture(tmp)) {
            fx.partition("p");
            Path c = tmp.resolve("orphan.out");
            // 17 threads: a killed thread-group leader is reported only after its other threads
            Path threads = fx.programs.compile("threads");
            // the victim's parent is a shell, not the process that traces it (as with slsd and a
            // server started by someone else): only once the tracer has consumed the death can
            // the shell reap it and go on to print "reaped"
            int sh = fx.programs.startCommand(List.of("/bin/sh", "-c",
                    threads + " " + c + "; echo reaped >> " + tmp.resolve("sh.out")));
            TestPrograms.awaitLine(c, l -> l.startsWith("slots="), Duration.ofSeconds(10));
            int victim = -1;
            for (String t : java.nio.file.Files.readString(Path.of("/proc/" + sh + "/task/" + sh + "/children")).trim().split(" ")) {
                victim = Integer.parseInt(t);
            }
            fx.programs.track(victim);
            fx.engine.attach("p", victim, 0);
            int v = victim;
            fx.engine.onStep(s -> {
                if (s.equals(step)) {
                    Linux.kill(v, 9);
                }
            });
            // the checkpoint fails, and does not hang
            assertTimeoutPreemptively(Duration.ofSeconds(60),
                    () -> assertThrows(CheckpointException.class, () -> fx.engine.checkpoint("p", false, "delta", 0)));
            fx.engine.onStep(s -> { });
            TestPrograms.awaitLine(tmp.resolve("sh.out"), "reaped"::equals, Duration.ofSeconds(10));
            assertTrue(!java.nio.file.Files.exists(Path.of("/proc/" + victim)), "no zombie keeps pid " + victim);
        }
    }

    @Test
    void aThreadThatDoesNotStopFailsTheFreezeAndIsLetGoLater() throws Exception {
        org.sls.slsd.capture.Freezer.timeout(Duration.ofMillis(300));
        try (EngineFixture fx = new EngineFixture(tmp)) {
            fx.partition("p");
            Path out = tmp.resolve("v.out");
            int pid = fx.programs.start("vforker", List.of(out.toString()), -1);
            TestPrograms.awaitLine(out, "ready"::equals, Duration.ofSeconds(10));
            fx.engine.attach("p", pid, 0);
            Linux.kill(pid, 10);
            TestPrograms.awaitLine(out, "vforking"::equals, Duration.ofSeconds(10));
            Thread.sleep(100);
            CheckpointException e = assertThrows(CheckpointException.class, () -> fx.engine.checkpoint("p", false, "full", 0));
            assertTrue(e.getMessage().startsWith("pid " + pid + " tid " + pid + " did not stop within 300 ms (state D)"),
                    e.getMessage());
            assertTrue(fx.store.epochs("p").isEmpty());
            // once the vfork child is gone the parent stops, is let go, and carries on untraced
            TestPrograms.awaitLine(out, "back"::equals, Duration.ofSeconds(10));
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (ProcFs.tracerPid(pid) != 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(0, ProcFs.tracerPid(pid));
            int lines = TestPrograms.lineCount(out);
            Thread.sleep(300);
            assertTrue(TestPrograms.lineCount(out) > lines, "running again");
            CheckpointResult r = fx.engine.checkpoint("p", false, "full", 0);
            assertEquals(List.of(pid), r.pids());
        } finally {
            org.sls.slsd.capture.Freezer.timeout(Duration.ofSeconds(5));
        }
    }

    @Test
    void aFullStoreFailsTheCheckpointAndLeavesTheTargetRunning() throws Exception {
        try (EngineFixture fx = new EngineFixture(tmp, EngineFixture.FEATURES, 16L << 20)) {
            fx.partition("p");
            Path out = tmp.resolve("c.out");
            int pid = fx.programs.start("counter", List.of(out.toString(), "65536", "20"), -1);
            TestPrograms.awaitLine(out, l -> l.startsWith("counter="), Duration.ofSeconds(10));
            fx.engine.attach("p", pid, 0);
            String maps = EngineFixture.snapshot(pid);
            CheckpointException e = assertThrows(CheckpointException.class, () -> fx.engine.checkpoint("p", false, "delta", 0));
            assertEquals(CheckpointException.Kind.STORE, e.kind(), e.getMessage());
            assertTrue(fx.store.epochs("p").isEmpty());
            assertEquals(0, ProcFs.tracerPid(pid));
            assertEquals(maps.replaceAll("\n.*userfaultfd.*", ""), EngineFixture.snapshot(pid));
            int lines = TestPrograms.lineCount(out);
            Thread.sleep(200);
            assertTrue(TestPrograms.lineCount(out) > lines, "still counting");
        }
    }

    @Test
    void spawnStartsAProgramInsideThePartition() throws Exception {
        try (EngineFixture fx = new EngineFixture(tmp)) {
            fx.partition("p");
            Path bin = fx.programs.compile("counter");
            Path out = tmp.resolve("c.out");
            int pid = fx.engine.spawn("p", List.of(bin.toString(), out.toString(), "256", "20"), null, tmp.toString(),
                    null, tmp.resolve("stdout").toString(), tmp.resolve("stdout").toString(), 0);
            fx.programs.track(pid);
            assertEquals(java.util.Set.of(pid), fx.engine.attached("p"));
            TestPrograms.awaitLine(out, l -> l.startsWith("counter="), Duration.ofSeconds(10));
            assertEquals(0, ProcFs.tracerPid(pid));
            assertEquals(List.of(0, 1, 2, 3), ProcFs.fds(pid));
            CheckpointResult r = fx.engine.checkpoint("p", false, "full", 0);
            assertEquals(bin.toString(), fx.manifest("p", r.epoch()).process(pid).exe());
            fx.engine.detach(pid);
            assertTrue(fx.engine.attached("p").isEmpty());
        }
    }
}
