package org.sls.slsd.resources;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.slos.FormatOptions;
import org.sls.slos.PartitionRecord;
import org.sls.slos.Slos;
import org.sls.slsd.checkpoint.CheckpointEngine;
import org.sls.slsd.checkpoint.CheckpointException;
import org.sls.slsd.checkpoint.CheckpointResult;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.checkpoint.manifest.Manifest;
import org.sls.slsd.checkpoint.manifest.ManifestCodec;
import org.sls.slsd.checkpoint.manifest.ProcessImage;
import org.sls.slsd.linux.KernelFeatures;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.TestPrograms;
import org.sls.slsd.restore.RestoreEngine;
import org.sls.slsd.restore.RestoreResult;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Each fd kind of this package through checkpoint, SIGKILL and restore with the real engines on a
 * real store: a C workload sets the resources up, waits for OUT.go after restore and reports what
 * it finds. Every process started or restored is killed by pid at the end.
 */
class ResourcesRestoreTest {
    private static final KernelFeatures FEATURES = KernelFeatures.probe();
    private static final String PART = "r";
    @TempDir
    Path tmp;
    Slos store;
    TestPrograms programs;
    CheckpointEngine checkpoints;
    RestoreEngine restores;

    @BeforeEach
    void setUp() throws Exception {
        Files.createDirectories(tmp.resolve("resources"));
        Path img = tmp.resolve("store.img");
        Slos.format(img, FormatOptions.defaults().withSize(128L << 20));
        store = Slos.open(img, null);
        programs = new TestPrograms(tmp);
        checkpoints = new CheckpointEngine(store, FEATURES, programs.reaper());
        restores = new RestoreEngine(store, FEATURES, programs.reaper());
        store.createPartition(new PartitionRecord(PART, PartitionRecord.BACKEND_SLOS, "full", 0, 0,
                System.currentTimeMillis()));
    }

    @AfterEach
    void tearDown() {
        restores.close();
        checkpoints.close();
        programs.close();
        store.close();
    }

    private int start(String name, String... args) throws Exception {
        return programs.start("resources/" + name, List.of(args), -1);
    }

    private static String await(Path out, String prefix) throws Exception {
        return TestPrograms.awaitLine(out, l -> l.startsWith(prefix), Duration.ofSeconds(20));
    }

    /** SIGKILLs the processes and waits until their PIDs are free (slsd's reaper or init reaps them). */
    private static void killAndWaitGone(List<Integer> pids) throws InterruptedException {
        for (int p : pids) {
            Linux.killIfAlive(p, 9);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        for (int p : pids) {
            while (ProcFs.exists(p)) {
                assertTrue(System.nanoTime() < deadline, "pid " + p + " still exists 20 s after SIGKILL");
                Thread.sleep(20);
            }
        }
    }

    private RestoreResult restore(long epoch) {
        RestoreResult r = restores.restore(PART, epoch, false, false, 0);
        r.pids().forEach(programs::track);
        return r;
    }

    private Manifest manifest(long epoch) {
        return ManifestCodec.decode(store.readBlob(PART, epoch, Manifest.BLOB));
    }

    @Test
    void pipesAndFifoKeepTheirBytesAndTheirEnds() throws Exception {
        Path out = tmp.resolve("pipes.out");
        int pid = start("pipes", out.toString(), tmp.resolve("fifo").toString());
        checkpoints.attach(PART, pid, 0);
        int child = Integer.parseInt(RestoreFixtureLike.field(await(out, "ready"), "child"));
        CheckpointResult cp = checkpoints.checkpoint(PART, true, "full", 0);

        Manifest m = manifest(cp.epoch());
        List<FdImage> pipes = new ArrayList<>();
        for (ProcessImage p : m.processes()) {
            p.fds().stream().filter(f -> f.kind() == FdImage.Kind.PIPE).forEach(pipes::add);
        }
        // parent: p1 write, p2 both ends, the FIFO; child: p1 read
        assertEquals(5, pipes.size(), "pipe fds in the manifest: " + pipes);
        assertEquals(1, pipes.stream().filter(f -> f.detail("data", "").length() > 190000).count(),
                "the 150000 bytes of p2 saved once");

        killAndWaitGone(List.of(child, pid));
        RestoreResult r = restore(cp.epoch());
        assertEquals(List.of(pid, child), r.pids());
        Files.createFile(Path.of(out + ".go"));
        assertEquals("child bytes=5000 bad=0 eof=1 x=0", await(out, "child"));
        assertEquals("parent bytes=150000 bad=0 nonblock=1 size=1048576", await(out, "parent bytes"));
        assertEquals("parent fifo=9 fifo_ok=1 x=0 x=0", await(out, "parent fifo"));
        await(out, "done");
    }

    @Test
    void aPipeToAProcessOutsideIsRefusedUnlessExternal() throws Exception {
        Path out = tmp.resolve("pipes.out");
        int pid = start("pipes", out.toString(), tmp.resolve("fifo").toString());
        int child = Integer.parseInt(RestoreFixtureLike.field(await(out, "ready"), "child"));
        checkpoints.attach(PART, child, 0);
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> checkpoints.checkpoint(PART, false, "full", 0));
        assertEquals(CheckpointException.Kind.UNSUPPORTED_RESOURCE, e.kind());
        assertTrue(e.getMessage().startsWith("pid " + child + " fd 3 (pipe:["), e.getMessage());
        assertTrue(e.getMessage().contains("held outside the partition by pid " + pid), e.getMessage());
        assertTrue(e.getMessage().contains("--external"), e.getMessage());

        CheckpointResult cp = checkpoints.checkpoint(PART, false, "full", 0, true);
        FdImage fd3 = manifest(cp.epoch()).process(child).fds().stream().filter(f -> f.fd() == 3).findFirst().orElseThrow();
        assertEquals("true", fd3.detail("external", ""));
        RestoreResult r = restores.restore(PART, cp.epoch(), true, true, 0);
        r.pids().forEach(programs::track);
        int restored = r.pids().get(0);
        assertEquals("/dev/null", ProcFs.link(restored, "fd/3").orElse(""));
    }

    @Test
    void eventTimerSignalAndEpollFdsCarryOn() throws Exception {
        Path out = tmp.resolve("events.out");
        int pid = start("events", out.toString());
        checkpoints.attach(PART, pid, 0);
        await(out, "ready");
        CheckpointResult cp = checkpoints.checkpoint(PART, false, "full", 0);
        killAndWaitGone(List.of(pid));
        restore(cp.epoch());
        Files.createFile(Path.of(out + ".go"));
        assertEquals("events epoll=3 efd=42 sem=1 ticked=1 interval_ms=100 epoll2=4 sig=10 signalfd_read=128",
                await(out, "events"));
    }

    @Test
    void unixSocketsKeepTheirPeersQueuesAndNames() throws Exception {
        Path out = tmp.resolve("sockets.out");
        String abstractName = "sls-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        int pid = start("sockets", out.toString(), tmp.resolve("listener.sock").toString(), abstractName);
        checkpoints.attach(PART, pid, 0);
        int child = Integer.parseInt(RestoreFixtureLike.field(await(out, "ready"), "child"));
        CheckpointResult cp = checkpoints.checkpoint(PART, true, "full", 0);
        long sockets = manifest(cp.epoch()).processes().stream().flatMap(p -> p.fds().stream())
                .filter(f -> f.kind() == FdImage.Kind.UNIX_SOCKET).count();
        // parent: 3 pairs, 2 listeners, the accepted end; the child inherited those 8 and has its client
        assertEquals(18, sockets);
        killAndWaitGone(List.of(child, pid));
        restore(cp.epoch());
        Files.createFile(Path.of(out + ".go"));
        assertEquals("parent st=ping,pong-xyz,again dg=m1,m22,m333,-1 sp=s1,s22 acc=from-child listen=1,1",
                await(out, "parent"));
        assertEquals("child got=to-child", await(out, "child"));
        await(out, "done");
    }

    @Test
    void aShellPipelineCarriesOn() throws Exception {
        Path go = tmp.resolve("pipeline.go");
        Path out = tmp.resolve("pipeline.out");
        // yes fills the pipe and blocks; the consumer waits for GO, then takes 100000 bytes
        int sh = programs.startCommand(List.of("/bin/sh", "-c", "yes abc | { while [ ! -e " + go + " ]; do sleep 0.05;"
                + " done; head -c 100000 | md5sum > " + out + ".tmp; mv " + out + ".tmp " + out + "; }"));
        checkpoints.attach(PART, sh, 0);
        Thread.sleep(300); // let the pipeline form; nothing asserts on time
        CheckpointResult cp = checkpoints.checkpoint(PART, true, "full", 0);
        List<Integer> pids = manifest(cp.epoch()).processes().stream().map(ProcessImage::pid).toList();
        assertTrue(pids.size() >= 3, "sh, yes and the consumer: " + pids);
        assertTrue(manifest(cp.epoch()).processes().stream().flatMap(p -> p.fds().stream())
                .anyMatch(f -> f.kind() == FdImage.Kind.PIPE && f.detail("data", "").length() > 0), "the full pipe's bytes");
        // the consumer forks a sleep now and then: stop the tree first, then kill it all, by pid
        for (int p : pids) {
            Linux.killIfAlive(p, 19);
        }
        List<Integer> all = new ArrayList<>();
        for (int p : pids) {
            descendants(p, all);
        }
        killAndWaitGone(all);
        restore(cp.epoch());
        Files.createFile(go);
        byte[] expected = new byte[100000];
        for (int i = 0; i < expected.length; i++) {
            expected[i] = (byte) "abc\n".charAt(i % 4);
        }
        String md5 = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("MD5").digest(expected));
        assertEquals(md5 + "  -", await(out, md5.substring(0, 4)));
    }

    private static void descendants(int pid, List<Integer> out) {
        if (out.contains(pid)) {
            return;
        }
        out.add(pid);
        try {
            for (int c : ProcFs.children(pid)) {
                descendants(c, out);
            }
        } catch (RuntimeException e) {
            // gone already
        }
    }

    /** Small parsing helper (the restore fixture's is package-private). */
    static final class RestoreFixtureLike {
        static String field(String line, String key) {
            for (String kv : line.trim().split(" ")) {
                if (kv.startsWith(key + "=")) {
                    return kv.substring(key.length() + 1);
                }
            }
            throw new AssertionError("no " + key + " in " + line);
        }
    }
}
