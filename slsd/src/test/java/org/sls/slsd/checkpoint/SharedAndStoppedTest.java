package org.sls.slsd.checkpoint;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.slsd.checkpoint.manifest.Manifest;
import org.sls.slsd.checkpoint.manifest.ManifestCodec;
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

class SharedAndStoppedTest {
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

    @Test
    void sharedMemoryIsSavedOncePerIdentity() throws Exception {
        Path out = tmp.resolve("sh.out");
        int pid = fx.programs.start("shmem", List.of(out.toString()), -1);
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (TestPrograms.lineCount(out) < 2 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        List<String> lines = Files.readAllLines(out);
        assertEquals(2, lines.size());
        fx.engine.attach("p", pid, 0);
        long parent = 0;
        for (String mode : List.of("delta", "delta", "full")) {
            CheckpointResult r = fx.engine.checkpoint("p", true, mode, parent);
            parent = r.epoch();
            assertEquals(2, r.pids().size());
            Manifest m = fx.manifest("p", r.epoch());
            assertEquals(2, m.sharedMemory().size(), "one object per identity: " + m.sharedMemory());
            for (String l : lines) {
                Map<String, String> f = EngineFixture.fields(l);
                int p = Integer.parseInt(f.get("pid"));
                MemoryView mem = fx.memory("p", r.epoch(), p);
                int len = Integer.parseInt(f.get("len"));
                assertEquals(TestPrograms.hex(f.get("sumanon")), TestPrograms.fnv(mem.read(TestPrograms.hex(f.get("anon")), len)));
                assertEquals(TestPrograms.hex(f.get("summemfd")), TestPrograms.fnv(mem.read(TestPrograms.hex(f.get("memfd")), len)));
                RegionImage anon = m.process(p).regionAt(TestPrograms.hex(f.get("anon")));
                assertEquals(RegionImage.Kind.SHARED, anon.kind());
                assertTrue(m.sharedMemory().stream().anyMatch(s -> s.objectId() == anon.objectId()));
            }
        }
    }

    @Test
    void noSignalIsLostWhileCheckpointsRun() throws Exception {
        Path out = tmp.resolve("sig.out");
        int pid = fx.programs.start("sigcount", List.of(out.toString()), -1);
        int rt = Integer.parseInt(EngineFixture.fields(TestPrograms.awaitLine(out, l -> l.startsWith("ready"),
                Duration.ofSeconds(10))).get("rt"));
        fx.engine.attach("p", pid, 0);
        int sent = 300;
        Thread sender = new Thread(() -> {
            for (int i = 0; i < sent; i++) {
                Linux.kill(pid, rt);
                if (i % 10 == 0) {
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
        });
        sender.start();
        long parent = 0;
        while (sender.isAlive()) {
            parent = fx.engine.checkpoint("p", false, "delta", parent).epoch();
        }
        sender.join();
        Thread.sleep(100);
        Linux.kill(pid, 10);
        assertEquals("count=" + sent, TestPrograms.awaitLine(out, l -> l.startsWith("count="), Duration.ofSeconds(10)));
        assertTrue(fx.store.epochs("p").size() >= 1);
    }

    @Test
    void aStoppedProcessStaysStoppedAndAManifestRoundTrips() throws Exception {
        Path out = tmp.resolve("s.out");
        int pid = fx.programs.start("sleeper", List.of(out.toString()), -1);
        TestPrograms.awaitLine(out, "ready"::equals, Duration.ofSeconds(10));
        Linux.kill(pid, 19);
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (ProcFs.stat(pid).state() != 'T' && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        fx.engine.attach("p", pid, 0);
        String before = EngineFixture.snapshot(pid);
        CheckpointResult r = fx.engine.checkpoint("p", false, "delta", 0);
        Thread.sleep(50);
        assertEquals('T', ProcFs.stat(pid).state(), "still stopped");
        assertEquals(before, EngineFixture.snapshot(pid));
        Manifest m = fx.manifest("p", r.epoch());
        assertEquals("T", m.process(pid).state());
        assertEquals(m, ManifestCodec.decode(ManifestCodec.encode(m)), "JSON round trip");
        Linux.kill(pid, 18);
        Linux.kill(pid, 10);
        TestPrograms.awaitLine(out, "usr1=1"::equals, Duration.ofSeconds(10));
    }
}
