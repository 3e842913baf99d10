package org.sls.slsd.restore;

import org.sls.slos.FormatOptions;
import org.sls.slos.PartitionRecord;
import org.sls.slos.Slos;
import org.sls.slsd.checkpoint.CheckpointEngine;
import org.sls.slsd.checkpoint.MemoryView;
import org.sls.slsd.checkpoint.manifest.Manifest;
import org.sls.slsd.checkpoint.manifest.ManifestCodec;
import org.sls.slsd.linux.KernelFeatures;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.TestPrograms;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Test helper: a fresh slos store in a temp dir, the checkpoint and restore engines on it, and the
 * restore workloads (compiled with gcc at test time). Every process a test starts or restores is
 * tracked and killed by pid at {@link #close()}. Not thread-safe.
 */
final class RestoreFixture implements AutoCloseable {
    static final KernelFeatures FEATURES = KernelFeatures.probe();
    static final String PART = "p";
    final Path dir;
    Slos store;
    final TestPrograms programs;
    CheckpointEngine checkpoints;
    RestoreEngine restores;

    RestoreFixture(Path dir) throws IOException {
        this.dir = dir;
        Files.createDirectories(dir.resolve("restore"));
        Path img = dir.resolve("store.img");
        Slos.format(img, FormatOptions.defaults().withSize(256L << 20));
        this.store = Slos.open(img, null);
        this.programs = new TestPrograms(dir);
        this.checkpoints = new CheckpointEngine(store, FEATURES, programs.reaper());
        this.restores = new RestoreEngine(store, FEATURES, programs.reaper());
        store.createPartition(new PartitionRecord(PART, PartitionRecord.BACKEND_SLOS, "delta", 0, 0,
                System.currentTimeMillis()));
    }

    /** Starts workloads/restore/NAME.c with the given arguments. */
    int start(String name, String... args) throws Exception {
        return programs.start("restore/" + name, List.of(args), -1);
    }

    Path out(String name) {
        return dir.resolve(name + ".out");
    }

    Manifest manifest(long epoch) {
        return ManifestCodec.decode(store.readBlob(PART, epoch, Manifest.BLOB));
    }

    MemoryView memory(long epoch, int pid) {
        return new MemoryView(store.reader(PART, epoch), manifest(epoch).process(pid));
    }

    /** Restores and tracks the restored processes for clean-up. */
    RestoreResult restore(long epoch, boolean stopped, boolean newPids) {
        RestoreResult r = restores.restore(PART, epoch, stopped, newPids, 0);
        r.pids().forEach(programs::track);
        return r;
    }

    /** SIGKILLs the processes (children first) and waits until their PIDs are free again. */
    void killAndWaitGone(List<Integer> pids) throws InterruptedException {
        List<Integer> rev = new ArrayList<>(pids);
        java.util.Collections.reverse(rev);
        for (int p : rev) {
            Linux.killIfAlive(p, 9);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        for (int p : pids) {
            while (ProcFs.exists(p)) {
                if (System.nanoTime() > deadline) {
                    String st;
                    try {
                        st = ProcFs.status(p).toString();
                    } catch (RuntimeException e) {
                        st = "gone";
                    }
                    throw new AssertionError("pid " + p + " still exists 20 s after SIGKILL: " + st);
                }
                Thread.sleep(20);
            }
        }
    }

    static Map<String, String> fields(String line) {
        Map<String, String> m = new TreeMap<>();
        for (String kv : line.trim().split(" ")) {
            int eq = kv.indexOf('=');
            if (eq > 0) {
                m.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
        return m;
    }




    /** Lines of the file after the first {@code skip}, matching a prefix. */
    static List<String> linesAfter(Path file, int skip, String prefix) throws IOException {
        List<String> all = Files.exists(file) ? Files.readAllLines(file) : List.of();
        List<String> out = new ArrayList<>();
        for (int i = skip; i < all.size(); i++) {
            if (all.get(i).startsWith(prefix)) {
                out.add(all.get(i));
            }
        }
        return out;
    }

    /** Waits until at least {@code n} lines after {@code skip} match the predicate; returns them. */
    static List<String> awaitLines(Path file, int skip, java.util.function.Predicate<String> p, int n,
                                   Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<String> all = Files.exists(file) ? Files.readAllLines(file) : List.of();
            List<String> out = new ArrayList<>();
            for (int i = skip; i < all.size(); i++) {
                if (p.test(all.get(i))) {
                    out.add(all.get(i));
                }
            }
            if (out.size() >= n) {
                return out;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + n + " lines in " + file + " after line " + skip
                        + "; got " + out + "; tail: " + all.subList(Math.max(0, all.size() - 5), all.size()));
            }
            Thread.sleep(20);
        }
    }

    /** After a test closed the store to simulate a restart: engines on a store opened again. */
    void reopened(Path img) {
        store = Slos.open(img, null);
        checkpoints = new CheckpointEngine(store, FEATURES, programs.reaper());
        restores = new RestoreEngine(store, FEATURES, programs.reaper());
    }

    @Override
    public void close() {
        restores.close();
        checkpoints.close();
        programs.close();
        store.close();
    }
}
