package org.sls.slsd.checkpoint;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.checkpoint.manifest.Manifest;
import org.sls.slsd.checkpoint.manifest.ManifestCodec;
import org.sls.slsd.checkpoint.manifest.ProcessImage;
import org.sls.slsd.checkpoint.manifest.RegionImage;
import org.sls.slsd.checkpoint.manifest.ThreadImage;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.Ptrace;
import org.sls.slsd.linux.TestPrograms;
import org.sls.slsd.linux.WaitStatus;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class CheckpointEngineTest {
    @TempDir
    Path tmp;
    EngineFixture fx;

    @BeforeEach
    void setUp() {
        fx = new EngineFixture(tmp);
        fx.partition("p");
    }

    @AfterEach
    void tearDown() {
        fx.close();
    }

    /** Checkpoints the counter repeatedly and checks its buffer checksum from the store. */
    private int verifyCounter(int pid, Path out, String mode, int rounds) throws Exception {
        Map<String, String> hdr = EngineFixture.fields(TestPrograms.awaitLine(out, l -> l.startsWith("state="), Duration.ofSeconds(10)));
        long state = TestPrograms.hex(hdr.get("state"));
        long buf = TestPrograms.hex(hdr.get("buf"));
        int len = Integer.parseInt(hdr.get("len"));
        TestPrograms.awaitLine(out, l -> l.startsWith("counter="), Duration.ofSeconds(10));
        long parent = 0;
        int verified = 0;
        long lastCounter = -1;
        for (int i = 0; i < rounds; i++) {
            CheckpointResult r = fx.engine.checkpoint("p", false, mode, parent);
            assertTrue(r.epoch() > parent);
            assertEquals(List.of(pid), r.pids());
            MemoryView mem = fx.memory("p", r.epoch(), pid);
            byte[] st = mem.read(state, 32);
            assertEquals(0x534c53434f554e54L, TestPrograms.u64(st, 24), "magic of the state struct");
            long seq = TestPrograms.u64(st, 0);
            long counter = TestPrograms.u64(st, 8);
            assertTrue(counter >= lastCounter, "counter goes forward");
            lastCounter = counter;
            if (seq % 2 == 0) {
                assertEquals(TestPrograms.u64(st, 16), TestPrograms.fnv(mem.read(buf, len)),
                        "checksum of the buffer as stored in epoch " + r.epoch() + " (counter " + counter + ")");
                verified++;
            }
            parent = r.epoch();
            Thread.sleep(120);
        }
        return verified;
    }

    @Test
    void counterFullCheckpointsMatchTheWorkloadsChecksum() throws Exception {
        Path out = tmp.resolve("c.out");
        int pid = fx.programs.start("counter", List.of(out.toString(), "2048", "50"), -1);
        fx.engine.attach("p", pid, 0);
        assertTrue(verifyCounter(pid, out, "full", 4) >= 2);
        Manifest m = fx.manifest("p", fx.store.lastEpoch("p").getAsLong());
        assertEquals(Manifest.FORMAT_VERSION, m.formatVersion());
        ProcessImage p = m.process(pid);
        assertEquals(1, p.threads().size());
        assertTrue(p.exe().endsWith("/counter"));
        assertTrue(p.regions().stream().anyMatch(r -> r.kind() == RegionImage.Kind.VDSO && r.objectId() == 0));
        assertTrue(p.regions().stream().anyMatch(r -> r.kind() == RegionImage.Kind.STACK && r.objectId() != 0));
        assertEquals(List.of(0, 1, 2, 3), p.fds().stream().map(FdImage::fd).toList());
        assertEquals(FdImage.Kind.REGULAR, p.fds().get(3).kind());
        assertTrue(p.mm().brk() >= p.mm().startBrk() && p.mm().startBrk() > 0);
        assertTrue(p.threads().get(0).rawXstate().length >= 512);
        assertEquals(0, ProcFs.tracerPid(pid), "no ptrace left between checkpoints");
        // stored compact (one per checkpoint, up to 100 a second), shown indented in the snapshot view
        byte[] stored = fx.store.readBlob("p", m.epoch(), Manifest.BLOB);
        assertFalse(new String(stored).contains("\n"), "compact JSON in the store");
        String shown = new String(new org.sls.slsd.snapshot.SnapshotView(fx.store).manifest("p", m.epoch()));
        assertTrue(shown.contains("\n  \"processes\""), "pretty JSON in .snapshots/p/EPOCH/manifest.json");
        assertEquals(m, ManifestCodec.decode(shown.getBytes()));
    }

    @Test
    void deltaCheckpointsSaveOnlyWrittenPagesAndStillMatch() throws Exception {
        Path out = tmp.resolve("c.out");
        int pid = fx.programs.start("counter", List.of(out.toString(), "16384", "50"), -1);
        fx.engine.attach("p", pid, 0);
        assertTrue(verifyCounter(pid, out, "delta", 5) >= 2);
        List<org.sls.slos.EpochInfo> epochs = fx.store.epochs("p");
        assertEquals(5, epochs.size());
        Manifest first = fx.manifest("p", epochs.get(0).epoch());
        Manifest last = fx.manifest("p", epochs.get(4).epoch());
        long firstSaved = first.process(pid).regions().stream().mapToLong(RegionImage::pagesSaved).sum();
        long lastSaved = last.process(pid).regions().stream().mapToLong(RegionImage::pagesSaved).sum();
        assertTrue(firstSaved >= 4096, "first checkpoint saves the whole 16 MiB buffer: " + firstSaved);
        assertTrue(lastSaved < firstSaved / 2, "a delta saves far less: " + lastSaved + " vs " + firstSaved);
        assertEquals("delta", last.mode());
        assertEquals("uffd-wp-async", fx.engine.dirtyTracking());
        // the target keeps no userfaultfd of its own
        for (int fd : ProcFs.fds(pid)) {
            assertFalse(ProcFs.link(pid, "fd/" + fd).orElse("").contains("userfaultfd"));
        }
    }

    /**
     * A delta of thousands of scattered pages is copied in many batches, shared between the
     * capturing thread and a helper: each epoch's buffer still matches the checksum the workload
     * kept with it.
     */
    @Test
    void deltaOfManyScatteredPagesIsCopiedWhole() throws Exception {
        Path out = tmp.resolve("c.out");
        // 16 MiB, 1,024 pages 977 apart written every 20 ms: a delta of 120 ms is a few thousand
        int pid = fx.programs.start("counter", List.of(out.toString(), "16384", "20", "1024"), -1);
        fx.engine.attach("p", pid, 0);
        assertTrue(verifyCounter(pid, out, "delta", 5) >= 2);
        List<org.sls.slos.EpochInfo> epochs = fx.store.epochs("p");
        Manifest last = fx.manifest("p", epochs.get(epochs.size() - 1).epoch());
        long saved = last.process(pid).regions().stream().mapToLong(RegionImage::pagesSaved).sum();
        assertEquals("delta", last.mode());
        assertTrue(saved >= 1024, "more than a MiB in more than one batch of 256 pieces: " + saved + " pages");
    }

    @Test
    void unsupportedFdIsRefusedAndTheTargetIsUntouched() throws Exception {
        Path out = tmp.resolve("h.out");
        int pid = fx.programs.start("holder", List.of(out.toString()), -1);
        String ready = TestPrograms.awaitLine(out, l -> l.startsWith("ready"), Duration.ofSeconds(10));
        int efd = Integer.parseInt(EngineFixture.fields(ready).get("efd"));
        Linux.kill(pid, 10); // blocked: stays pending
        Thread.sleep(50);
        fx.engine.attach("p", pid, 0);
        String before = EngineFixture.snapshot(pid);
        for (String mode : List.of("full", "delta")) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> fx.engine.checkpoint("p", false, mode, 0));
            assertEquals(CheckpointException.Kind.UNSUPPORTED_RESOURCE, e.kind());
            assertEquals("pid " + pid + " fd " + efd + " (anon_inode:[userfaultfd], userfaultfd owned by the process): not supported yet", e.getMessage());
            assertEquals(before, EngineFixture.snapshot(pid));
        }
        assertTrue(fx.store.epochs("p").isEmpty(), "nothing committed");
        int ticks = TestPrograms.lineCount(out);
        TestPrograms.awaitLine(out, l -> l.startsWith("tick="), Duration.ofSeconds(5));
        Thread.sleep(300);
        assertTrue(TestPrograms.lineCount(out) > ticks, "still running");
    }

    @Test
    void pendingSignalsAndMasksAreCapturedAndKept() throws Exception {
        Path out = tmp.resolve("s.out");
        int pid = fx.programs.start("sleeper", List.of(out.toString()), -1);
        TestPrograms.awaitLine(out, "ready"::equals, Duration.ofSeconds(10));
        fx.engine.attach("p", pid, 0);
        String before = EngineFixture.snapshot(pid);
        CheckpointResult r = fx.engine.checkpoint("p", false, "full", 0);
        assertEquals(before, EngineFixture.snapshot(pid));
        ProcessImage p = fx.manifest("p", r.epoch()).process(pid);
        ThreadImage t = p.threads().get(0);
        assertEquals(34, t.interruptedSyscall(), "stopped in pause()");
        assertEquals(34, t.reg("rax"), "saved as a restart of pause");
        assertTrue(p.sigactions().stream().anyMatch(s -> s.signal() == 10 && s.handler() > 1), "SIGUSR1 handler");
        assertTrue(p.sigactions().stream().anyMatch(s -> s.signal() == 12 && s.handler() == 1), "SIGUSR2 ignored");
        assertTrue(p.sigactions().stream().noneMatch(s -> s.signal() == 15), "SIGTERM left at its default");
        assertEquals(3, p.itimers().size());
        assertEquals(3600, p.itimers().get(0).intervalSec(), "ITIMER_REAL interval");
        assertTrue(p.itimers().get(0).valueSec() > 3000, "ITIMER_REAL armed: " + p.itimers().get(0));
        assertEquals(0, p.itimers().get(2).valueSec() + p.itimers().get(2).valueUsec(), "ITIMER_PROF disarmed");
        // the program still gets its signals after the checkpoint
        Linux.kill(pid, 10);
        TestPrograms.awaitLine(out, "usr1=1"::equals, Duration.ofSeconds(10));
    }

    @Test
    void attachRefusesTracedProcessesAndSlsdItself() throws Exception {
        Path out = tmp.resolve("s.out");
        int pid = fx.programs.start("sleeper", List.of(out.toString()), -1);
        TestPrograms.awaitLine(out, "ready"::equals, Duration.ofSeconds(10));
        Ptrace.seize(pid, 0);
        try {
            CheckpointException e = assertThrows(CheckpointException.class, () -> fx.engine.attach("p", pid, 0));
            assertEquals(CheckpointException.Kind.ALREADY_TRACED, e.kind());
            assertTrue(e.getMessage().startsWith("pid " + pid + " is already traced by pid " + Linux.gettid() + " ("), e.getMessage());
        } finally {
            Ptrace.interrupt(pid);
            WaitStatus st = Ptrace.wait(pid);
            assertTrue(st.stopped());
            Ptrace.detach(pid, 0);
        }
        assertEquals(CheckpointException.Kind.PERMISSION,
                assertThrows(CheckpointException.class, () -> fx.engine.attach("p", Linux.getpid(), 0)).kind());
        assertEquals(CheckpointException.Kind.PERMISSION,
                assertThrows(CheckpointException.class, () -> fx.engine.attach("p", pid, 65534)).kind());
        assertEquals(CheckpointException.Kind.NO_SUCH_PROCESS,
                assertThrows(CheckpointException.class, () -> fx.engine.attach("p", 0x3ffffff0, 0)).kind());
        assertEquals(CheckpointException.Kind.PERMISSION,
                assertThrows(CheckpointException.class, () -> fx.engine.attach("p", 2, 0)).kind(), "kthreadd");
    }

    @Test
    void sixteenThreadsAreAllCaptured() throws Exception {
        Path out = tmp.resolve("t.out");
        int pid = fx.programs.start("threads", List.of(out.toString()), -1);
        Map<String, String> f = EngineFixture.fields(TestPrograms.awaitLine(out, l -> l.startsWith("slots="), Duration.ofSeconds(10)));
        fx.engine.attach("p", pid, 0);
        long parent = 0;
        for (int i = 0; i < 3; i++) {
            String mapsBefore = java.nio.file.Files.readString(Path.of("/proc/" + pid + "/maps"));
            CheckpointResult r = fx.engine.checkpoint("p", false, "delta", parent);
            // the page of code the threads' injected calls ran from is gone again
            assertEquals(mapsBefore, java.nio.file.Files.readString(Path.of("/proc/" + pid + "/maps")));
            parent = r.epoch();
            ProcessImage p = fx.manifest("p", r.epoch()).process(pid);
            assertEquals(17, p.threads().size());
            assertEquals(ProcFs.tasks(pid), p.threads().stream().map(ThreadImage::tid).toList());
            for (ThreadImage t : p.threads()) {
                RegionImage code = p.regionAt(t.reg("rip"));
                assertNotNull(code, "rip of " + t.tid());
                assertTrue(code.prot().contains("x"), "rip of " + t.tid() + " in code: " + code);
                assertNotEquals(0, t.clearChildTid(), "pthread sets a tid address");
            }
            byte[] slots = fx.memory("p", r.epoch(), pid).read(TestPrograms.hex(f.get("slots")), 16 * 64);
            for (int s = 0; s < 16; s++) {
                assertTrue(TestPrograms.u64(slots, s * 64) > 0, "slot " + s + " counted");
            }
            Thread.sleep(50);
        }
    }

    @Test
    void forkTreeIsCapturedRecursively() throws Exception {
        Path out = tmp.resolve("f.out");
        int pid = fx.programs.start("forktree", List.of(out.toString()), -1);
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (TestPrograms.lineCount(out) < 7 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        List<String> lines = Files.readAllLines(out);
        assertEquals(7, lines.size());
        fx.engine.attach("p", pid, 0);
        CheckpointResult r = fx.engine.checkpoint("p", true, "delta", 0);
        assertEquals(7, r.pids().size());
        assertEquals(pid, r.pids().get(0));
        Manifest m = fx.manifest("p", r.epoch());
        assertTrue(m.recursive());
        for (String l : lines) {
            Map<String, String> f = EngineFixture.fields(l);
            int p = Integer.parseInt(f.get("pid"));
            ProcessImage img = m.process(p);
            assertEquals(Integer.parseInt(f.get("ppid")), img.ppid());
            if (p != pid) {
                assertTrue(m.process(img.ppid()).children().contains(p));
            }
            byte[] v = fx.memory("p", r.epoch(), p).read(TestPrograms.hex(f.get("at")), 8);
            assertEquals(Long.parseLong(f.get("value")), TestPrograms.u64(v, 0), "value of pid " + p);
        }
        CheckpointResult nonRecursive = fx.engine.checkpoint("p", false, "delta", r.epoch());
        assertEquals(List.of(pid), nonRecursive.pids());
    }

    @Test
    void fallsBackToFullCheckpointsWithoutTheKernelFeatures() throws Exception {
        try (EngineFixture old = new EngineFixture(tmp.resolve("old").toFile().mkdirs() ? tmp.resolve("old") : tmp.resolve("old"),
                EngineFixture.FEATURES.withoutIncremental())) {
            old.partition("p");
            assertEquals("full", old.engine.dirtyTracking());
            assertTrue(old.engine.fallbackReason().contains("userfaultfd"));
            Path out = tmp.resolve("c.out");
            int pid = old.programs.start("counter", List.of(out.toString(), "1024", "50"), -1);
            TestPrograms.awaitLine(out, l -> l.startsWith("counter="), Duration.ofSeconds(10));
            old.engine.attach("p", pid, 0);
            CheckpointResult a = old.engine.checkpoint("p", false, "delta", 0);
            CheckpointResult b = old.engine.checkpoint("p", false, "delta", a.epoch());
            assertEquals("full", old.manifest("p", b.epoch()).mode());
            assertTrue(b.pages() >= 256, "full again: " + b.pages());
            assertTrue(ProcFs.fds(pid).size() == 4);
        }
    }
}
