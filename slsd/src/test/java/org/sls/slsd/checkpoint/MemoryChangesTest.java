package org.sls.slsd.checkpoint;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.slsd.checkpoint.manifest.Manifest;
import org.sls.slsd.checkpoint.manifest.ProcessImage;
import org.sls.slsd.checkpoint.manifest.RegionImage;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.TestPrograms;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Zapped, remapped, moved and grown memory between incremental checkpoints; non-root and python targets. */
class MemoryChangesTest {
    private static final int LEN = 64 * 4096;
    @TempDir
    Path tmp;
    EngineFixture fx;

    @BeforeEach
    void setUp() throws Exception {
        // workloads running as nobody write their reports here
        Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        fx = new EngineFixture(tmp);
        fx.partition("p");
    }

    @AfterEach
    void tearDown() {
        fx.close();
    }

    private void zapperPhases(String mode, int uid) throws Exception {
        Path out = tmp.resolve("z" + mode + uid + ".out");
        openToAll(out);
        int pid = fx.programs.start("zapper", List.of(out.toString()), uid);
        fx.engine.attach("p", pid, 0);
        long parent = 0;
        Long objectOfA = null;
        for (int phase = 1; phase <= 3; phase++) {
            int ph = phase;
            Map<String, String> f = EngineFixture.fields(TestPrograms.awaitLine(out, l -> l.startsWith("phase=" + ph + " "),
                    Duration.ofSeconds(10)));
            Thread.sleep(30); // it is in pause() now
            CheckpointResult r = fx.engine.checkpoint("p", false, mode, parent);
            parent = r.epoch();
            Manifest m = fx.manifest("p", r.epoch());
            MemoryView mem = fx.memory("p", r.epoch(), pid);
            long a = TestPrograms.hex(f.get("a"));
            long b = TestPrograms.hex(f.get("b"));
            long c = TestPrograms.hex(f.get("c"));
            assertEquals(TestPrograms.hex(f.get("suma")), TestPrograms.fnv(mem.read(a, LEN)), "a in phase " + phase);
            assertEquals(TestPrograms.hex(f.get("sumf")), TestPrograms.fnv(mem.read(TestPrograms.hex(f.get("f")), 4 * 4096)),
                    "private file mapping in phase " + phase);
            assertEquals(TestPrograms.hex(f.get("sumb")), TestPrograms.fnv(mem.read(b, LEN)), "b in phase " + phase);
            int clen = phase == 1 ? LEN : 2 * LEN;
            assertEquals(TestPrograms.hex(f.get("sumc")), TestPrograms.fnv(mem.read(c, clen)), "c in phase " + phase);
            long heaplen = Long.parseLong(f.get("heaplen"));
            if (heaplen > 0) {
                assertEquals(TestPrograms.hex(f.get("sumheap")),
                        TestPrograms.fnv(mem.read(TestPrograms.hex(f.get("heap")), (int) heaplen)), "heap in phase " + phase);
                byte[] stack = mem.read(TestPrograms.hex(f.get("stack")), Integer.parseInt(f.get("stacklen")));
                for (byte x : stack) {
                    assertEquals(0, x, "deepest frame of the grown stack (memset to n=0)");
                }
            }
            ProcessImage p = m.process(pid);
            RegionImage ra = p.regionAt(a);
            if (objectOfA == null) {
                objectOfA = ra.objectId();
            } else {
                assertEquals(objectOfA, ra.objectId(), "a keeps its object while its range stays");
            }
            if (phase == 2 && mode.equals("delta")) {
                assertTrue(ra.pagesSaved() >= 32, "the zapped half of a is recorded as holes: " + ra.pagesSaved());
            }
            if (phase == 3 && mode.equals("delta")) {
                assertTrue(ra.pagesSaved() <= 4, "only the rewritten pages of a: " + ra.pagesSaved());
            }
            Linux.kill(pid, 10);
        }
        assertEquals(0, ProcFs.tracerPid(pid));
    }

    private static void openToAll(Path file) throws Exception {
        Files.createFile(file);
        Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw-rw-"));
    }

    @Test
    void zappedRemappedMovedAndGrownMemoryInDeltaMode() throws Exception {
        zapperPhases("delta", -1);
    }

    @Test
    void zappedRemappedMovedAndGrownMemoryInFullMode() throws Exception {
        zapperPhases("full", -1);
    }

    @Test
    void nonRootTargetInDeltaMode() throws Exception {
        zapperPhases("delta", 65534);
    }

    @Test
    void nonRootCallerMayAttachOnlyItsOwnProcesses() throws Exception {
        Path out = tmp.resolve("c.out");
        openToAll(out);
        int pid = fx.programs.start("counter", List.of(out.toString(), "256", "50"), 65534);
        TestPrograms.awaitLine(out, l -> l.startsWith("counter="), Duration.ofSeconds(10));
        assertEquals("65534", ProcFs.status(pid).get("Uid").split("\\s+")[0]);
        fx.engine.attach("p", pid, 65534);
        CheckpointResult r1 = fx.engine.checkpoint("p", false, "delta", 0);
        CheckpointResult r2 = fx.engine.checkpoint("p", false, "delta", r1.epoch());
        assertTrue(r2.pages() < r1.pages());
        assertEquals(List.of(65534, 65534, 65534, 65534), fx.manifest("p", r2.epoch()).process(pid).credentials().uids());
    }

    @Test
    void spawnForAnotherUserOpensItsStreamsWithThatUsersRights() throws Exception {
        Path bin = fx.programs.compile("counter");
        Path out = tmp.resolve("n.out");
        openToAll(out);
        Path forbidden = Path.of("/root/sls-spawn-test-" + System.nanoTime() + ".out");
        CheckpointException e = assertThrows(CheckpointException.class, () -> fx.engine.spawn("p",
                List.of(bin.toString(), out.toString(), "64", "20"), null, tmp.toString(), null, forbidden.toString(),
                forbidden.toString(), 65534));
        assertTrue(e.getMessage().contains("ended before it started"), e.getMessage());
        assertFalse(Files.exists(forbidden), "slsd did not create it for the user");
        Path logs = tmp.resolve("n.log");
        openToAll(logs);
        int pid = fx.engine.spawn("p", List.of(bin.toString(), out.toString(), "64", "20"), null, tmp.toString(), null,
                logs.toString(), logs.toString(), 65534);
        fx.programs.track(pid);
        TestPrograms.awaitLine(out, l -> l.startsWith("counter="), Duration.ofSeconds(10));
        assertEquals("65534", ProcFs.status(pid).get("Uid").split("\\s+")[0]);
        assertEquals(tmp.toString(), ProcFs.link(pid, "cwd").orElseThrow());
        assertEquals(logs.toString(), ProcFs.link(pid, "fd/1").orElseThrow());
        assertTrue(fx.engine.checkpoint("p", false, "delta", 0).pids().contains(pid));
    }

    /**
     * Four read-only private mappings that touch (three of a file, one anonymous), as a library's
     * are: scanned together, each keeps its own pages, and changes made by lifting a protection and
     * putting it back (the same VMAs at the next checkpoint) are saved by the delta.
     */
    @Test
    void readOnlyMappingsSideBySideKeepTheirOwnPagesAcrossDeltas() throws Exception {
        Path out = tmp.resolve("s.out");
        int pid = fx.programs.start("sidebyside", List.of(out.toString()), -1);
        fx.engine.attach("p", pid, 0);
        // {page, byte it starts with} per phase: private copies, file pages, an anonymous page never written
        int[][][] expected = {
                {{0, 0x66}, {1, 0x11}, {5, 0x55}, {6, 0x66}, {9, 0x99}, {12, 0}, {13, 0xdd}},
                {{0, 0x66}, {1, 0x66}, {5, 0x55}, {6, 0x67}, {9, 0}, {12, 0}, {13, 0xdd}},
                {{0, 0x66}, {1, 0x66}, {5, 0x55}, {6, 0x67}, {9, 0}, {12, 0}, {13, 0xdd}},
        };
        long parent = 0;
        for (int phase = 1; phase <= 3; phase++) {
            int ph = phase;
            Map<String, String> f = EngineFixture.fields(TestPrograms.awaitLine(out, l -> l.startsWith("phase=" + ph + " "),
                    Duration.ofSeconds(10)));
            Thread.sleep(30); // it waits in sigsuspend now
            CheckpointResult r = fx.engine.checkpoint("p", false, "delta", parent);
            parent = r.epoch();
            long m = TestPrograms.hex(f.get("m"));
            byte[] mem = fx.memory("p", r.epoch(), pid).read(m, Integer.parseInt(f.get("len")));
            for (int[] page : expected[phase - 1]) {
                assertEquals((byte) page[1], mem[page[0] * 4096], "page " + page[0] + " in phase " + phase);
                assertEquals((byte) page[1], mem[page[0] * 4096 + 4095], "end of page " + page[0] + " in phase " + phase);
            }
            assertEquals(TestPrograms.hex(f.get("sum")), TestPrograms.fnv(mem), "the four mappings in phase " + phase);
            ProcessImage p = fx.manifest("p", r.epoch()).process(pid);
            for (long at = m; at < m + 16 * 4096; at += 4 * 4096) {
                assertEquals(at, p.regionAt(at).start(), "a region of its own at 0x" + Long.toHexString(at));
            }
            Linux.kill(pid, 10);
        }
    }

    @Test
    void aProcessThatExecsStartsANewLineage() throws Exception {
        Path out = tmp.resolve("e.out");
        Path counter = fx.programs.compile("counter");
        Path cout = tmp.resolve("c.out");
        int pid = fx.programs.start("execer", List.of(out.toString(), counter.toString(), cout.toString(), "4096", "30"), -1);
        TestPrograms.awaitLine(out, "execer ready"::equals, Duration.ofSeconds(10));
        fx.engine.attach("p", pid, 0);
        CheckpointResult before = fx.engine.checkpoint("p", false, "delta", 0);
        Linux.kill(pid, 10);
        Map<String, String> hdr = EngineFixture.fields(TestPrograms.awaitLine(cout, l -> l.startsWith("state="), Duration.ofSeconds(10)));
        TestPrograms.awaitLine(cout, l -> l.startsWith("counter="), Duration.ofSeconds(10));
        long parent = before.epoch();
        int verified = 0;
        for (int i = 0; i < 4; i++) {
            CheckpointResult r = fx.engine.checkpoint("p", false, "delta", parent);
            parent = r.epoch();
            assertTrue(fx.manifest("p", r.epoch()).process(pid).exe().endsWith("/counter"));
            MemoryView mem = fx.memory("p", r.epoch(), pid);
            byte[] st = mem.read(TestPrograms.hex(hdr.get("state")), 32);
            if (TestPrograms.u64(st, 0) % 2 == 0) {
                assertEquals(TestPrograms.u64(st, 16), TestPrograms.fnv(mem.read(TestPrograms.hex(hdr.get("buf")),
                        Integer.parseInt(hdr.get("len")))), "after exec, epoch " + r.epoch());
                verified++;
            }
            Thread.sleep(40);
        }
        assertTrue(verified >= 1);
        long saved = fx.manifest("p", parent).process(pid).regions().stream().mapToLong(RegionImage::pagesSaved).sum();
        assertTrue(saved < 512, "dirty tracking works again after the exec: " + saved + " pages saved");
    }

    @Test
    void pythonInterpreterIsCheckpointedRepeatedly() throws Exception {
        Path out = tmp.resolve("py.out");
        String script = String.join("\n",
                "import ctypes, hashlib, sys, time",
                "buf = ctypes.create_string_buffer(1 << 20)",
                "for i in range(len(buf)): pass",
                "ctypes.memset(buf, 0x5a, len(buf))",
                "f = open(sys.argv[1], 'a', buffering=1)",
                "f.write('addr=%x len=%d sha=%s\\n' % (ctypes.addressof(buf), len(buf), hashlib.sha256(buf.raw).hexdigest()))",
                "n = 0",
                "while True:",
                "    n += 1",
                "    time.sleep(0.01)");
        Path py = tmp.resolve("loop.py");
        Files.writeString(py, script);
        String python = org.sls.slsd.linux.Spawner.resolve("python3", null);
        java.nio.file.Path real = Path.of(python).toRealPath();
        if (Files.readString(Path.of(python), java.nio.charset.StandardCharsets.ISO_8859_1).startsWith("#!")) {
            // a pyenv shim: run the interpreter itself
            Process which = new ProcessBuilder("python3", "-c", "import sys; print(sys.executable)").start();
            real = Path.of(new String(which.getInputStream().readAllBytes()).trim());
            which.waitFor();
        }
        int pid = fx.programs.startCommand(List.of(real.toString(), py.toString(), out.toString()));
        Map<String, String> f = EngineFixture.fields(TestPrograms.awaitLine(out, l -> l.startsWith("addr="), Duration.ofSeconds(20)));
        fx.engine.attach("p", pid, 0);
        long parent = 0;
        for (int i = 0; i < 3; i++) {
            CheckpointResult r = fx.engine.checkpoint("p", false, "delta", parent);
            parent = r.epoch();
            byte[] data = fx.memory("p", r.epoch(), pid).read(TestPrograms.hex(f.get("addr")), Integer.parseInt(f.get("len")));
            String sha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(data));
            assertEquals(f.get("sha"), sha, "python buffer in epoch " + r.epoch());
            Thread.sleep(50);
        }
        assertTrue(ProcFs.exists(pid));
    }
}
