package org.sls.slsd.restore;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.slsd.checkpoint.CheckpointResult;
import org.sls.slsd.checkpoint.MemoryView;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.checkpoint.manifest.Manifest;
import org.sls.slsd.checkpoint.manifest.ProcessImage;
import org.sls.slsd.checkpoint.manifest.ThreadImage;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.TestPrograms;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class RestoreEngineTest {
    @TempDir
    Path tmp;
    RestoreFixture fx;

    @BeforeEach
    void setUp() throws Exception {
        fx = new RestoreFixture(tmp);
    }

    @AfterEach
    void tearDown() {
        fx.close();
    }

    /** What a counter checkpoint holds: its counter and checksum, read back from the store. */
    record CounterAt(long epoch, long counter, long sum, long state, long buf, int len, byte[] bufBytes) {}

    private CounterAt checkpointCounter(int pid, Path out, long parent) throws Exception {
        Map<String, String> hdr = RestoreFixture.fields(TestPrograms.awaitLine(out, l -> l.startsWith("state="), Duration.ofSeconds(10)));
        long state = TestPrograms.hex(hdr.get("state"));
        long buf = TestPrograms.hex(hdr.get("buf"));
        int len = Integer.parseInt(hdr.get("len"));
        TestPrograms.awaitLine(out, l -> l.startsWith("pid="), Duration.ofSeconds(10));
        for (int attempt = 0; attempt < 20; attempt++) {
            CheckpointResult r = fx.checkpoints.checkpoint(RestoreFixture.PART, false, "full", parent);
            MemoryView mem = fx.memory(r.epoch(), pid);
            byte[] st = mem.read(state, 32);
            if (TestPrograms.u64(st, 0) % 2 == 0) {
                long sum = TestPrograms.u64(st, 16);
                assertEquals(sum, TestPrograms.fnv(mem.read(buf, len)), "stored buffer matches its checksum");
                return new CounterAt(r.epoch(), TestPrograms.u64(st, 8), sum, state, buf, len, mem.read(buf, len));
            }
            parent = r.epoch();
        }
        throw new AssertionError("never caught the counter outside its update");
    }


    /** The checksum the counter prints for round {@code c}, computed from the buffer before that round. */
    private static long sumAfterRound(byte[] buffer, long c) {
        ByteBuffer b = ByteBuffer.wrap(buffer.clone()).order(ByteOrder.LITTLE_ENDIAN);
        long n = buffer.length / 8;
        long pages = n / 512;
        for (long k = 0; k < 8; k++) {
            int word = (int) (Long.remainderUnsigned(c * 131 + k * 977, pages) * 512 + c % 512);
            b.putLong(word * 8, b.getLong(word * 8) + c);
        }
        return TestPrograms.fnv(b.array());
    }

    /** Checks the counter lines of pid after line skip: they follow round at.counter() with the right sums. */
    private void assertCounterContinues(Path out, int skip, int pid, CounterAt at) throws Exception {
        List<String> after = RestoreFixture.awaitLines(out, skip, l -> l.startsWith("pid=" + pid + " "), 3,
                Duration.ofSeconds(10));
        Map<String, String> first = RestoreFixture.fields(after.get(0));
        assertEquals(at.counter() + 1, Long.parseLong(first.get("counter")),
                "the first round after the restore follows the checkpointed one");
        assertEquals(sumAfterRound(at.bufBytes(), at.counter() + 1), TestPrograms.hex(first.get("sum")),
                "the restored buffer is the checkpointed one (checksum of the next round)");
        for (int i = 1; i < after.size(); i++) {
            assertEquals(at.counter() + 1 + i, Long.parseLong(RestoreFixture.fields(after.get(i)).get("counter")));
        }
    }

    @Test
    void counterContinuesFromItsCheckpointedValueWithItsMemoryIntact() throws Exception {
        Path out = fx.out("c");
        int pid = fx.start("counter", out.toString(), "2048", "50");
        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        CounterAt at = checkpointCounter(pid, out, 0);
        fx.killAndWaitGone(List.of(pid));
        int skip = TestPrograms.lineCount(out);

        RestoreResult r = fx.restore(at.epoch(), false, false);
        assertEquals(List.of(pid), r.pids());
        assertEquals(Map.of(pid, pid), r.pidMap());
        assertEquals(at.epoch(), r.epoch());
        assertCounterContinues(out, skip, pid, at);
        ProcessImage img = fx.manifest(at.epoch()).process(pid);
        assertEquals(img.exe(), ProcFs.link(pid, "exe").orElse(""));
        assertEquals(img.cwd(), ProcFs.link(pid, "cwd").orElse(""));
        assertEquals(img.comm(), ProcFs.comm(pid));
        assertEquals(img.umask(), Integer.parseInt(ProcFs.status(pid).get("Umask"), 8));
        assertEquals(img.mm().startBrk(), ProcFs.stat(pid).startBrk());
        Map<String, long[]> limits = ProcFs.limits(pid);
        for (ProcessImage.Rlimit rl : img.rlimits()) {
            assertArrayEquals(new long[] {rl.soft(), rl.hard()}, limits.get(rl.resource()), rl.resource());
        }
        for (FdImage fd : img.fds()) {
            assertEquals(fd.path(), ProcFs.link(pid, "fd/" + fd.fd()).orElse(""), "fd " + fd.fd());
        }
        assertEquals(0, ProcFs.tracerPid(pid), "detached");
        assertEquals(maps(img), maps(pid), "the same VMAs at the same addresses with the same protections");
    }

    /** "start-end perms path" of every VMA but [vsyscall], as the checkpoint recorded them. */
    private static List<String> maps(ProcessImage p) {
        return p.regions().stream().filter(r -> r.kind() != org.sls.slsd.checkpoint.manifest.RegionImage.Kind.VSYSCALL)
                .map(r -> Long.toHexString(r.start()) + "-" + Long.toHexString(r.end()) + " " + r.prot() + " " + r.path())
                .toList();
    }

    private static List<String> maps(int pid) {
        return ProcFs.maps(pid).stream().filter(v -> !v.path().equals("[vsyscall]"))
                .map(v -> Long.toHexString(v.start()) + "-" + Long.toHexString(v.end()) + " " + v.perms() + " " + v.path())
                .toList();
    }

    @Test
    void sixteenThreadsAllContinueUnderTheirTids() throws Exception {
        Path out = fx.out("t");
        int pid = fx.start("threads", out.toString());
        TestPrograms.awaitLine(out, l -> l.startsWith("tick="), Duration.ofSeconds(10));
        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        CheckpointResult cp = fx.checkpoints.checkpoint(RestoreFixture.PART, false, "full", 0);
        List<Integer> tids = fx.manifest(cp.epoch()).process(pid).threads().stream().map(ThreadImage::tid).sorted().toList();
        assertEquals(17, tids.size());
        fx.killAndWaitGone(List.of(pid));
        int skip = TestPrograms.lineCount(out);

        fx.restore(cp.epoch(), false, false);
        assertEquals(tids, ProcFs.tasks(pid), "every thread back under its TID");
        List<String> ticks = RestoreFixture.awaitLines(out, skip, l -> l.startsWith("tick="), 6, Duration.ofSeconds(10));
        long[] first = slots(ticks.get(0));
        long[] last = slots(ticks.get(ticks.size() - 1));
        for (int i = 0; i < 16; i++) {
            assertTrue(last[i] > first[i], "thread " + i + " keeps counting: " + ticks.get(0) + " / " + ticks.get(ticks.size() - 1));
        }
    }

    private static long[] slots(String tick) {
        String[] s = RestoreFixture.fields(tick).get("s").split(",");
        long[] v = new long[s.length];
        for (int i = 0; i < s.length; i++) {
            v[i] = Long.parseLong(s[i]);
        }
        return v;
    }

    @Test
    void threeLevelForkTreeKeepsItsParents() throws Exception {
        Path out = fx.out("f");
        int root = fx.start("forktree", out.toString());
        RestoreFixture.awaitLines(out, 0, l -> l.contains("level=2"), 4, Duration.ofSeconds(10));
        fx.checkpoints.attach(RestoreFixture.PART, root, 0);
        CheckpointResult cp = fx.checkpoints.checkpoint(RestoreFixture.PART, true, "full", 0);
        Manifest m = fx.manifest(cp.epoch());
        assertEquals(7, m.processes().size());
        Map<Integer, Integer> parent = new HashMap<>();
        for (ProcessImage p : m.processes()) {
            parent.put(p.pid(), p.ppid());
        }
        List<Integer> pids = m.processes().stream().map(ProcessImage::pid).toList();
        // orphans of the killed tree come to this JVM, which reaps them at once (PID 1 takes seconds)
        Linux.setChildSubreaper(true);
        try {
            pids.forEach(p -> fx.programs.reaper().watch(p));
            fx.killAndWaitGone(pids);
        } finally {
            Linux.setChildSubreaper(false);
        }
        int skip = TestPrograms.lineCount(out);

        RestoreResult r = fx.restore(cp.epoch(), false, false);
        assertEquals(pids, r.pids());
        for (int p : pids) {
            List<String> lines = RestoreFixture.awaitLines(out, skip, l -> l.startsWith("pid=" + p + " "), 2, Duration.ofSeconds(10));
            Map<String, String> f = RestoreFixture.fields(lines.get(lines.size() - 1));
            if (p == root) {
                assertEquals(Linux.getpid(), Integer.parseInt(f.get("ppid")), "the restored root is slsd's child");
            } else {
                assertEquals(parent.get(p), Integer.parseInt(f.get("ppid")), "getppid() of " + p + " is its restored parent");
            }
            assertEquals(Long.toUnsignedString(1000003L * p), f.get("value"), "memory of " + p);
            assertEquals(m.process(p).pgid(), ProcFs.stat(p).pgrp(), "process group of " + p);
            assertEquals(m.process(p).sid(), ProcFs.stat(p).session(), "session of " + p);
        }
    }

    @Test
    void zappedRemappedAndGrownMemoryReadsBackAsAtAnOlderEpoch() throws Exception {
        Path out = fx.out("z");
        int pid = fx.start("zapper", out.toString());
        String p1 = TestPrograms.awaitLine(out, l -> l.startsWith("phase phase=1"), Duration.ofSeconds(10));
        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        long e1 = fx.checkpoints.checkpoint(RestoreFixture.PART, false, "delta", 0).epoch();
        Linux.kill(pid, 10);
        String p2 = TestPrograms.awaitLine(out, l -> l.startsWith("phase phase=2"), Duration.ofSeconds(10));
        long e2 = fx.checkpoints.checkpoint(RestoreFixture.PART, false, "delta", e1).epoch();
        Linux.kill(pid, 10);
        String p3 = TestPrograms.awaitLine(out, l -> l.startsWith("phase phase=3"), Duration.ofSeconds(10));
        long e3 = fx.checkpoints.checkpoint(RestoreFixture.PART, false, "delta", e2).epoch();
        assertTrue(e3 > e2 && e2 > e1);
        assertNotEquals(sums(p1), sums(p2));
        fx.killAndWaitGone(List.of(pid));
        int skip = TestPrograms.lineCount(out);

        fx.restore(e2, false, false);
        Linux.kill(pid, 12);
        String report = RestoreFixture.awaitLines(out, skip, l -> l.startsWith("report"), 1, Duration.ofSeconds(10)).get(0);
        assertEquals("report phase=2 " + sums(p2), report, "memory as it was at epoch " + e2);
        Linux.kill(pid, 10);
        String again = RestoreFixture.awaitLines(out, skip, l -> l.startsWith("phase phase=3"), 1, Duration.ofSeconds(10)).get(0);
        assertEquals(p3, again, "the next phase computes what the original computed");
    }

    /**
     * A region that every interval rewrites whole runs hot (see UffdDirtyTracker): two measured
     * checkpoints, then it is not write-protected again and each checkpoint copies every page
     * written since its last protection, here even when the interval wrote one page; after the hot
     * run one checkpoint protects it again and the next copies only what was written. Checkpoints
     * taken hot, with pages zapped meanwhile, and after restore to exactly the memory they had.
     */
    @Test
    void hotRegionRunsWithoutProtectionAndRestoresExactly() throws Exception {
        Path out = fx.out("hot");
        int pid = fx.start("hotpages", out.toString());
        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        // checkpoint 1 copies the new region, 2 and 3 measure it, 4 to 19 run hot, 20 protects it again
        int last = 3 + org.sls.slsd.capture.UffdDirtyTracker.hotRun(128) + 2;
        Map<Integer, String> sums = new HashMap<>();
        Map<Integer, CheckpointResult> at = new HashMap<>();
        long parent = 0;
        for (int n = 1; n <= last; n++) {
            if (n > 1) {
                Linux.kill(pid, 10);
            }
            String prefix = "round n=" + n + " ";
            String round = TestPrograms.awaitLine(out, l -> l.startsWith(prefix), Duration.ofSeconds(10));
            sums.put(n, round.substring(round.indexOf("sum=")));
            CheckpointResult r = fx.checkpoints.checkpoint(RestoreFixture.PART, false, "delta", parent);
            at.put(n, r);
            parent = r.epoch();
        }
        // 128 pages less the 17 zapped ones: all copied though round 7 wrote one
        assertTrue(at.get(7).pages() >= 111, "hot: every page written since the last protection, not "
                + at.get(7).pages());
        assertTrue(at.get(last).pages() < 40, "measured again after the hot run: only what the interval wrote, not "
                + at.get(last).pages());
        for (int n : new int[] {6, 7, last}) {
            fx.killAndWaitGone(List.of(pid));
            int skip = TestPrograms.lineCount(out);
            fx.restore(at.get(n).epoch(), false, false);
            Linux.kill(pid, 12);
            String report = RestoreFixture.awaitLines(out, skip, l -> l.startsWith("report"), 1, Duration.ofSeconds(10)).get(0);
            assertEquals("report n=" + n + " " + sums.get(n), report, "memory as it was at round " + n);
        }
    }

    private static String sums(String line) {
        return line.substring(line.indexOf("suma="));
    }

    @Test
    void pythonMidLoopContinues() throws Exception {
        Path out = fx.out("py");
        String script = "import os, time\n"
                + "f = open('" + out + "', 'a', buffering=1)\n"
                + "i = 0\n"
                + "while True:\n"
                + "    i += 1\n"
                + "    f.write(f'pid={os.getpid()} i={i}\\n')\n"
                + "    time.sleep(0.02)\n";
        int pid = fx.programs.startCommand(List.of("python3", "-c", script));
        RestoreFixture.awaitLines(out, 0, l -> l.startsWith("pid="), 5, Duration.ofSeconds(20));
        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        long before = lastI(out);
        CheckpointResult cp = fx.checkpoints.checkpoint(RestoreFixture.PART, false, "full", 0);
        long after = lastI(out);
        fx.killAndWaitGone(List.of(pid));
        int skip = TestPrograms.lineCount(out);

        fx.restore(cp.epoch(), false, false);
        List<String> lines = RestoreFixture.awaitLines(out, skip, l -> l.startsWith("pid=" + pid + " "), 5, Duration.ofSeconds(10));
        long first = Long.parseLong(RestoreFixture.fields(lines.get(0)).get("i"));
        assertTrue(first >= before + 1 && first <= after + 1,
                "the interpreter continues where it was checkpointed: " + first + " not in " + (before + 1) + ".." + (after + 1));
        for (int k = 1; k < lines.size(); k++) {
            assertEquals(first + k, Long.parseLong(RestoreFixture.fields(lines.get(k)).get("i")));
        }
    }

    private static long lastI(Path out) throws Exception {
        List<String> l = RestoreFixture.linesAfter(out, 0, "pid=");
        return Long.parseLong(RestoreFixture.fields(l.get(l.size() - 1)).get("i"));
    }

    @Test
    void restoreCheckpointAndRestoreAgain() throws Exception {
        Path out = fx.out("c");
        int pid = fx.start("counter", out.toString(), "1024", "30");
        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        CounterAt first = checkpointCounter(pid, out, 0);
        fx.killAndWaitGone(List.of(pid));
        fx.checkpoints.detach(pid);
        fx.restore(first.epoch(), false, false);
        RestoreFixture.awaitLines(out, TestPrograms.lineCount(out), l -> l.startsWith("pid=" + pid + " "), 3, Duration.ofSeconds(10));

        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        CounterAt second = checkpointCounter(pid, out, first.epoch());
        assertTrue(second.counter() > first.counter());
        assertEquals(first.epoch(), fx.manifest(second.epoch()).parentEpoch(), "checkpointing goes on from the restored epoch");
        fx.killAndWaitGone(List.of(pid));
        int skip = TestPrograms.lineCount(out);
        fx.restore(second.epoch(), false, false);
        assertCounterContinues(out, skip, pid, second);
    }

    @Test
    void newPidsRestoreBesideTheRunningOriginal() throws Exception {
        Path out = fx.out("c");
        int pid = fx.start("counter", out.toString(), "1024", "40");
        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        CounterAt at = checkpointCounter(pid, out, 0);
        int skip = TestPrograms.lineCount(out);

        RestoreResult r = fx.restore(at.epoch(), false, true);
        int clone = r.pidMap().get(pid);
        assertNotEquals(pid, clone);
        assertEquals(List.of(clone), r.pids());
        assertCounterContinues(out, skip, clone, at);
        RestoreFixture.awaitLines(out, skip, l -> l.startsWith("pid=" + pid + " "), 2, Duration.ofSeconds(10));
    }

    @Test
    void stoppedRestoreKeepsMemoryUntilSigcont() throws Exception {
        Path out = fx.out("c");
        int pid = fx.start("counter", out.toString(), "1024", "40");
        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        CounterAt at = checkpointCounter(pid, out, 0);
        fx.killAndWaitGone(List.of(pid));
        int skip = TestPrograms.lineCount(out);

        fx.restore(at.epoch(), true, false);
        assertEquals('T', awaitState(pid, 'T'), "stopped, for a debugger");
        assertEquals(0, ProcFs.tracerPid(pid), "detached, so a debugger can attach");
        byte[] st = Linux.readMem(pid, at.state(), 32);
        assertEquals(at.counter(), TestPrograms.u64(st, 8));
        assertEquals(at.sum(), TestPrograms.u64(st, 16));
        assertEquals(at.sum(), TestPrograms.fnv(Linux.readMem(pid, at.buf(), at.len())), "memory checksum intact");
        assertTrue(RestoreFixture.linesAfter(out, skip, "pid=").isEmpty(), "a stopped process prints nothing");

        Linux.kill(pid, 18);
        assertCounterContinues(out, skip, pid, at);
    }

    private static char awaitState(int pid, char want) throws InterruptedException {
        char s = 0;
        for (int i = 0; i < 250; i++) {
            s = ProcFs.stat(pid).state();
            if (s == want) {
                return s;
            }
            Thread.sleep(20);
        }
        return s;
    }

    @Test
    void takenPidIsRefusedNamingItsHolderBeforeAnythingIsBuilt() throws Exception {
        Path out = fx.out("c");
        int pid = fx.start("counter", out.toString(), "64", "50");
        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        long epoch = fx.checkpoints.checkpoint(RestoreFixture.PART, false, "full", 0).epoch();
        List<Integer> childrenBefore = ProcFs.children(Linux.getpid());

        RestoreException e = assertThrows(RestoreException.class, () -> fx.restore(epoch, false, false));
        assertEquals(RestoreException.Kind.PID_TAKEN, e.kind());
        assertEquals("restore of pid " + pid + ": PID " + pid + " is taken by pid " + pid + " (counter)", e.getMessage());
        assertEquals(childrenBefore, ProcFs.children(Linux.getpid()), "nothing was created");
    }

    @Test
    void changedExecutableIsRefusedNamingIt() throws Exception {
        Path out = fx.out("c");
        int pid = fx.start("counter", out.toString(), "64", "50");
        TestPrograms.awaitLine(out, l -> l.startsWith("pid="), Duration.ofSeconds(10));
        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        long epoch = fx.checkpoints.checkpoint(RestoreFixture.PART, false, "full", 0).epoch();
        fx.killAndWaitGone(List.of(pid));
        Path bin = tmp.resolve("restore/counter");
        Path copy = tmp.resolve("counter.copy");
        Files.copy(bin, copy);
        Files.delete(bin);
        Files.move(copy, bin); // same content, another inode

        RestoreException e = assertThrows(RestoreException.class, () -> fx.restore(epoch, false, false));
        assertEquals(RestoreException.Kind.FILE_CHANGED, e.kind());
        assertTrue(e.getMessage().startsWith("restore of pid " + pid + ": " + bin + " changed since the checkpoint (inode "),
                e.getMessage());
        assertFalse(ProcFs.exists(pid));
    }

    @Test
    void failureMidwayKillsOnlyWhatTheRestoreCreated() throws Exception {
        Path out = fx.out("c");
        int pid = fx.start("counter", out.toString(), "64", "50");
        TestPrograms.awaitLine(out, l -> l.startsWith("pid="), Duration.ofSeconds(10));
        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        long epoch = fx.checkpoints.checkpoint(RestoreFixture.PART, false, "full", 0).epoch();
        fx.killAndWaitGone(List.of(pid));
        Manifest m = fx.manifest(epoch);
        ProcessImage p = m.process(pid);
        List<FdImage> fds = new ArrayList<>(p.fds());
        fds.set(0, new FdImage(0, FdImage.Kind.CHAR_DEVICE, "/nonexistent/device", 0, 0, 0, ""));
        ProcessImage broken = new ProcessImage(p.pid(), p.ppid(), p.pgid(), p.sid(), p.comm(), p.state(), p.exe(),
                p.cwd(), p.root(), p.umask(), p.credentials(), p.rlimits(), p.personality(), p.mm(), p.auxv(),
                p.sigactions(), p.sharedPending(), p.threads(), p.regions(), fds, p.children());
        Manifest bad = new Manifest(m.formatVersion(), m.partition(), m.epoch(), m.parentEpoch(), m.mode(),
                m.createdMillis(), m.kernelRelease(), m.pageSize(), m.recursive(), List.of(broken), m.sharedMemory());
        List<Integer> childrenBefore = ProcFs.children(Linux.getpid());

        RestoreRun run = new RestoreRun(RestoreFixture.PART, bad, fx.store.reader(RestoreFixture.PART, epoch), false,
                false, fx.programs.reaper());
        RestoreException e = assertThrows(RestoreException.class, () -> run.run(0, System.nanoTime()));
        assertEquals("restore of pid " + pid + ": step 5 (fd 0: open /nonexistent/device): openat /nonexistent/device:"
                + " ENOENT (No such file or directory)", e.getMessage());
        assertFalse(ProcFs.exists(pid), "the half-built process is gone");
        assertEquals(childrenBefore, ProcFs.children(Linux.getpid()), "and so is the husk template");

        RestoreResult ok = fx.restore(epoch, false, false);
        assertEquals(List.of(pid), ok.pids(), "the store is untouched: the real epoch still restores");
    }

    @Test
    void unknownEpochIsNotFound() {
        RestoreException e = assertThrows(RestoreException.class, () -> fx.restore(999, false, false));
        assertEquals(RestoreException.Kind.NOT_FOUND, e.kind());
        assertEquals("partition p has no committed epoch", e.getMessage());
    }

    @Test
    void sharedMemoryIsSharedAgainBetweenParentAndChild() throws Exception {
        Path out = fx.out("s");
        int pid = fx.start("shared", out.toString());
        RestoreFixture.awaitLines(out, 0, l -> l.startsWith("pid="), 3, Duration.ofSeconds(10));
        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        List<String> before = RestoreFixture.linesAfter(out, 0, "pid=");
        long seen = Long.parseLong(RestoreFixture.fields(before.get(before.size() - 1)).get("anon"));
        CheckpointResult cp = fx.checkpoints.checkpoint(RestoreFixture.PART, true, "full", 0);
        Manifest m = fx.manifest(cp.epoch());
        assertEquals(2, m.processes().size());
        assertEquals(2, m.sharedMemory().size(), "shared anonymous memory and a memfd");
        int child = m.processes().get(1).pid();
        Linux.setChildSubreaper(true);
        try {
            fx.programs.reaper().watch(child);
            fx.killAndWaitGone(List.of(pid, child));
        } finally {
            Linux.setChildSubreaper(false);
        }
        int skip = TestPrograms.lineCount(out);

        fx.restore(cp.epoch(), false, false);
        List<String> lines = RestoreFixture.awaitLines(out, skip, l -> l.startsWith("pid=" + pid + " "), 4, Duration.ofSeconds(10));
        Map<String, String> first = RestoreFixture.fields(lines.get(0));
        Map<String, String> last = RestoreFixture.fields(lines.get(lines.size() - 1));
        assertEquals("ok", last.get("pattern"), "shared content restored");
        assertTrue(Long.parseLong(first.get("anon")) >= seen, "shared anonymous memory restored: " + first + " vs " + seen);
        assertTrue(Long.parseLong(last.get("anon")) > Long.parseLong(first.get("anon")),
                "the parent sees the restored child's writes to shared anonymous memory: " + lines);
        assertTrue(Long.parseLong(last.get("memfd")) > Long.parseLong(first.get("memfd")),
                "the parent sees the restored child's writes to the memfd: " + lines);
    }

    @Test
    void nonRootProcessGetsItsCredentialsBack() throws Exception {
        Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.setPosixFilePermissions(tmp.resolve("restore"), java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        Path out = fx.out("nobody");
        Files.createFile(out);
        Files.setPosixFilePermissions(out, java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw-rw-"));
        fx.programs.compile("restore/counter");
        int pid = fx.programs.start("restore/counter", List.of(out.toString(), "256", "40"), 65534);
        TestPrograms.awaitLine(out, l -> l.startsWith("pid="), Duration.ofSeconds(10));
        fx.checkpoints.attach(RestoreFixture.PART, pid, 65534);
        CounterAt at = checkpointCounter(pid, out, 0);
        Map<String, String> original = ProcFs.status(pid);
        fx.killAndWaitGone(List.of(pid));
        int skip = TestPrograms.lineCount(out);

        RestoreException refused = assertThrows(RestoreException.class,
                () -> fx.restores.restore(RestoreFixture.PART, at.epoch(), false, false, 1000));
        assertEquals(RestoreException.Kind.PERMISSION, refused.kind());
        assertEquals("restore of pid " + pid + ": it ran as uid 65534, the caller is uid 1000", refused.getMessage());

        RestoreResult r = fx.restores.restore(RestoreFixture.PART, at.epoch(), false, false, 65534);
        r.pids().forEach(fx.programs::track);
        Map<String, String> status = ProcFs.status(pid);
        assertTrue(status.get("Uid").matches("65534\\s+65534\\s+65534\\s+65534"), status.get("Uid"));
        assertTrue(status.get("Gid").matches("65534\\s+65534\\s+65534\\s+65534"), status.get("Gid"));
        assertEquals("", status.get("Groups"));
        assertEquals("0000000000000000", status.get("CapEff"));
        for (String k : List.of("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs")) {
            assertEquals(original.get(k), status.get(k), k);
        }
        assertCounterContinues(out, skip, pid, at);
        fx.checkpoints.attach(RestoreFixture.PART, pid, 65534);
        assertTrue(fx.checkpoints.checkpoint(RestoreFixture.PART, false, "full", at.epoch()).epoch() > at.epoch(),
                "its owner can checkpoint it again (it stayed dumpable)");
    }

    @Test
    void freshStoreAfterARebootRestores() throws Exception {
        Path out = fx.out("c");
        int pid = fx.start("counter", out.toString(), "512", "40");
        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        CounterAt at = checkpointCounter(pid, out, 0);
        fx.killAndWaitGone(List.of(pid));
        int skip = TestPrograms.lineCount(out);
        fx.checkpoints.close();
        fx.restores.close();
        fx.store.close();

        try (org.sls.slos.Slos store = org.sls.slos.Slos.open(tmp.resolve("store.img"), null);
             RestoreEngine engine = new RestoreEngine(store, RestoreFixture.FEATURES, fx.programs.reaper())) {
            RestoreResult r = engine.restore(RestoreFixture.PART, 0, false, false, 0);
            r.pids().forEach(fx.programs::track);
            assertEquals(at.epoch(), r.epoch(), "epoch 0 is the newest");
            assertCounterContinues(out, skip, pid, at);
        }
        fx.reopened(tmp.resolve("store.img"));
    }

    @Test
    void privateFileMappingKeepsItsZeroedAndRewrittenCopies() throws Exception {
        Path data = tmp.resolve("data.bin");
        byte[] content = new byte[16 * 4096];
        for (int i = 0; i < content.length; i++) {
            content[i] = (byte) (i * 31 + 7);
        }
        Files.write(data, content);
        Path out = fx.out("fp");
        int pid = fx.start("filepriv", out.toString(), data.toString());
        String start = TestPrograms.awaitLine(out, l -> l.startsWith("start"), Duration.ofSeconds(10));
        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        long epoch = fx.checkpoints.checkpoint(RestoreFixture.PART, false, "full", 0).epoch();
        fx.killAndWaitGone(List.of(pid));
        int skip = TestPrograms.lineCount(out);

        fx.restore(epoch, false, false);
        Linux.kill(pid, 12);
        String report = RestoreFixture.awaitLines(out, skip, l -> l.startsWith("report"), 1, Duration.ofSeconds(10)).get(0);
        assertEquals(start.substring(start.indexOf("sum=")), report.substring(report.indexOf("sum=")),
                "the zeroed page is zeros, the rewritten one as written, the rest from the file");
    }

    @Test
    void signalStateComesBackWithThePendingSignal() throws Exception {
        Path out = fx.out("sig");
        int pid = fx.start("signals", out.toString());
        TestPrograms.awaitLine(out, l -> l.equals("ready"), Duration.ofSeconds(10));
        Linux.kill(pid, 12); // blocked: stays pending
        Thread.sleep(50);
        Map<String, String> before = ProcFs.status(pid);
        assertEquals(1L << 11, Long.parseUnsignedLong(before.get("ShdPnd"), 16) & (1L << 11), "SIGUSR2 pending");
        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        long epoch = fx.checkpoints.checkpoint(RestoreFixture.PART, false, "full", 0).epoch();
        fx.killAndWaitGone(List.of(pid));
        int skip = TestPrograms.lineCount(out);

        fx.restore(epoch, false, false);
        Map<String, String> after = ProcFs.status(pid);
        for (String k : List.of("SigIgn", "SigCgt", "SigBlk")) {
            assertEquals(before.get(k), after.get(k), k);
        }
        assertEquals(1L << 11, Long.parseUnsignedLong(after.get("ShdPnd"), 16) & (1L << 11), "SIGUSR2 still pending");
        Linux.kill(pid, 1); // ignored
        Linux.kill(pid, 10);
        List<String> lines = RestoreFixture.awaitLines(out, skip, l -> l.startsWith("usr"), 2, Duration.ofSeconds(10));
        assertEquals(List.of("usr1=1 onstack=1", "usr2=1"), lines,
                "SIGUSR1 handled on the alternate stack, then the pending SIGUSR2 delivered");
        assertTrue(ProcFs.exists(pid) && ProcFs.stat(pid).state() != 'Z', "SIGHUP stayed ignored");
    }

    @Test
    void rootProcessWithFewerCapabilitiesGetsNoMore() throws Exception {
        Path out = fx.out("caps");
        Path bin = fx.programs.compile("restore/counter");
        int pid = fx.programs.startCommand(List.of("/usr/bin/setpriv", "--bounding-set=-net_raw,-sys_module",
                "--inh-caps=-all", "--", bin.toString(), out.toString(), "64", "40"));
        TestPrograms.awaitLine(out, l -> l.startsWith("pid="), Duration.ofSeconds(10));
        Map<String, String> original = ProcFs.status(pid);
        assertEquals(0, Long.parseUnsignedLong(original.get("CapBnd"), 16) & (1L << 13), "no CAP_NET_RAW to start with");
        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        CounterAt at = checkpointCounter(pid, out, 0);
        fx.killAndWaitGone(List.of(pid));
        int skip = TestPrograms.lineCount(out);

        fx.restore(at.epoch(), false, false);
        Map<String, String> status = ProcFs.status(pid);
        for (String k : List.of("Uid", "Gid", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")) {
            assertEquals(original.get(k), status.get(k), k);
        }
        assertCounterContinues(out, skip, pid, at);
    }

    /** Starts the syscalls program (one thread in pause, one in nanosleep) and attaches it once both wait. */
    private int startSyscallsAttached(Path out) throws Exception {
        int pid = fx.start("syscalls", out.toString());
        TestPrograms.awaitLine(out, l -> l.equals("ready"), Duration.ofSeconds(10));
        Thread.sleep(100);
        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        return pid;
    }

    @Test
    void interruptedSyscallsAreRestartedOrFailWithEintr() throws Exception {
        Path out = fx.out("sys");
        int pid = startSyscallsAttached(out);
        CheckpointResult cp = fx.checkpoints.checkpoint(RestoreFixture.PART, false, "full", 0);
        Manifest m = fx.manifest(cp.epoch());
        List<Long> inSyscalls = m.process(pid).threads().stream().map(ThreadImage::interruptedSyscall).sorted().toList();
        assertEquals(List.of(34L, 230L), inSyscalls, "stopped in pause (34) and clock_nanosleep (230, glibc's nanosleep)");
        fx.killAndWaitGone(List.of(pid));
        int skip = TestPrograms.lineCount(out);

        fx.restore(cp.epoch(), false, false);
        assertEquals("nanosleep=-1 errno=4", RestoreFixture.awaitLines(out, skip, l -> l.startsWith("nanosleep"), 1,
                Duration.ofSeconds(10)).get(0), "nanosleep (ERESTART_RESTARTBLOCK) fails with EINTR");
        Thread.sleep(200);
        assertTrue(RestoreFixture.linesAfter(out, skip, "pause").isEmpty(), "pause() was restarted, not ended");
        Linux.kill(pid, 10);
        assertEquals("pause=-1 errno=4", RestoreFixture.awaitLines(out, skip, l -> l.startsWith("pause"), 1,
                Duration.ofSeconds(10)).get(0), "the restarted pause() ends as pause ends: on a handled signal");
    }

    /**
     * Checkpoints leave both threads in their calls: each checkpoint injects calls into both (one
     * batch each) and lets them go from the SIGTRAP stop that ends it, where the kernel's restart
     * treatment must still apply, the restart block of nanosleep's included.
     */
    @Test
    void checkpointsLeaveInterruptedSyscallsAsTheyWere() throws Exception {
        Path out = fx.out("sysk");
        int pid = startSyscallsAttached(out);
        for (int i = 0; i < 5; i++) {
            CheckpointResult cp = fx.checkpoints.checkpoint(RestoreFixture.PART, false, i == 0 ? "full" : "delta", 0);
            List<Long> inSyscalls = fx.manifest(cp.epoch()).process(pid).threads().stream()
                    .map(ThreadImage::interruptedSyscall).sorted().toList();
            // the kernel goes on with an interrupted nanosleep through restart_syscall (219)
            assertTrue(inSyscalls.equals(List.of(34L, 230L)) || inSyscalls.equals(List.of(34L, 219L)),
                    "checkpoint " + i + ": still in pause and clock_nanosleep: " + inSyscalls);
        }
        Thread.sleep(300);
        assertTrue(RestoreFixture.linesAfter(out, 0, "nanosleep").isEmpty(), "the 30 s nanosleep goes on");
        assertTrue(RestoreFixture.linesAfter(out, 0, "pause").isEmpty(), "pause() goes on");
        Linux.kill(pid, 10);
        assertEquals("pause=-1 errno=4", RestoreFixture.awaitLines(out, 0, l -> l.startsWith("pause"), 1,
                Duration.ofSeconds(10)).get(0), "pause() ends on a handled signal, as it would have");
        assertTrue(RestoreFixture.linesAfter(out, 0, "nanosleep").isEmpty(), "the nanosleep still goes on");
    }

    @Test
    void failedTreeRestoreLeavesNoZombieHoldingAPid() throws Exception {
        Path out = fx.out("f");
        int root = fx.start("forktree", out.toString());
        RestoreFixture.awaitLines(out, 0, l -> l.contains("level=2"), 4, Duration.ofSeconds(10));
        fx.checkpoints.attach(RestoreFixture.PART, root, 0);
        long epoch = fx.checkpoints.checkpoint(RestoreFixture.PART, true, "full", 0).epoch();
        Manifest m = fx.manifest(epoch);
        List<Integer> pids = m.processes().stream().map(ProcessImage::pid).toList();
        List<ProcessImage> procs = new ArrayList<>(m.processes());
        ProcessImage last = procs.get(procs.size() - 1);
        List<FdImage> fds = new ArrayList<>(last.fds());
        fds.set(0, new FdImage(0, FdImage.Kind.CHAR_DEVICE, "/nonexistent/device", 0, 0, 0, ""));
        procs.set(procs.size() - 1, new ProcessImage(last.pid(), last.ppid(), last.pgid(), last.sid(), last.comm(),
                last.state(), last.exe(), last.cwd(), last.root(), last.umask(), last.credentials(), last.rlimits(),
                last.personality(), last.mm(), last.auxv(), last.sigactions(), last.sharedPending(), last.threads(),
                last.regions(), fds, last.children()));
        Manifest bad = new Manifest(m.formatVersion(), m.partition(), m.epoch(), m.parentEpoch(), m.mode(),
                m.createdMillis(), m.kernelRelease(), m.pageSize(), m.recursive(), procs, m.sharedMemory());
        // like slsd, this JVM is a subreaper while the tree goes and the restore fails
        Linux.setChildSubreaper(true);
        try {
            pids.forEach(p -> fx.programs.reaper().watch(p));
            fx.killAndWaitGone(pids);
            RestoreRun run = new RestoreRun(RestoreFixture.PART, bad, fx.store.reader(RestoreFixture.PART, epoch),
                    false, false, fx.programs.reaper());
            RestoreException e = assertThrows(RestoreException.class, () -> run.run(0, System.nanoTime()));
            assertTrue(e.getMessage().startsWith("restore of pid " + last.pid() + ": step 5 (fd 0: open /nonexistent/device)"),
                    e.getMessage());
            for (int p : pids) {
                assertFalse(ProcFs.exists(p), "pid " + p + " is free again: " + (ProcFs.exists(p) ? ProcFs.status(p) : ""));
            }
        } finally {
            Linux.setChildSubreaper(false);
        }
    }

    @Test
    void newPidsCloneATreeBesideTheOriginal() throws Exception {
        Path out = fx.out("f");
        int root = fx.start("forktree", out.toString());
        RestoreFixture.awaitLines(out, 0, l -> l.contains("level=2"), 4, Duration.ofSeconds(10));
        fx.checkpoints.attach(RestoreFixture.PART, root, 0);
        long epoch = fx.checkpoints.checkpoint(RestoreFixture.PART, true, "full", 0).epoch();
        Manifest m = fx.manifest(epoch);
        int skip = TestPrograms.lineCount(out);

        RestoreResult r = fx.restore(epoch, false, true);
        Map<Integer, Integer> map = r.pidMap();
        assertEquals(7, map.size());
        for (ProcessImage p : m.processes()) {
            int now = map.get(p.pid());
            assertNotEquals(p.pid(), now);
            assertTrue(ProcFs.exists(p.pid()), "the original " + p.pid() + " still runs");
            List<String> lines = RestoreFixture.awaitLines(out, skip, l -> l.startsWith("pid=" + now + " "), 2, Duration.ofSeconds(10));
            Map<String, String> f = RestoreFixture.fields(lines.get(lines.size() - 1));
            int wantParent = map.getOrDefault(p.ppid(), Linux.getpid());
            assertEquals(wantParent, Integer.parseInt(f.get("ppid")), "getppid() of the clone of " + p.pid());
            assertEquals(Long.toUnsignedString(1000003L * p.pid()), f.get("value"), "memory of the clone of " + p.pid());
            assertEquals((int) map.get(p.pgid()), ProcFs.stat(now).pgrp(), "process group of the clone of " + p.pid());
            assertEquals((int) map.get(p.sid()), ProcFs.stat(now).session(), "session of the clone of " + p.pid());
        }
    }

    @Test
    void withoutUserfaultfdMemoryIsWrittenWithProcessVmWritev() throws Exception {
        Path out = fx.out("c");
        int pid = fx.start("counter", out.toString(), "2048", "50");
        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        CounterAt at = checkpointCounter(pid, out, 0);
        fx.killAndWaitGone(List.of(pid));
        int skip = TestPrograms.lineCount(out);
        MemoryRestorer.fillWithUserfaultfd = false;
        try {
            fx.restore(at.epoch(), false, false);
        } finally {
            MemoryRestorer.fillWithUserfaultfd = true;
        }
        assertCounterContinues(out, skip, pid, at);
    }
}
