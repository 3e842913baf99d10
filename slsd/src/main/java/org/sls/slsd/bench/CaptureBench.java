package org.sls.slsd.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.sls.slos.FormatOptions;
import org.sls.slos.PartitionRecord;
import org.sls.slos.Slos;
import org.sls.slsd.capture.Freezer;
import org.sls.slsd.capture.FrozenTree;
import org.sls.slsd.checkpoint.CheckpointEngine;
import org.sls.slsd.checkpoint.CheckpointResult;
import org.sls.slsd.linux.IoVecs;
import org.sls.slsd.linux.KernelFeatures;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.NativeMemory;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.Reaper;
import org.sls.slsd.linux.Spawner;
import org.sls.slsd.linux.Vma;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;

/**
 * Capture benchmark (issue 4): frozen time of a full checkpoint of a 1 GiB process (4 KiB pages,
 * all touched), of incremental checkpoints with 1% of its pages dirtied in between (median of 20),
 * the freeze of a 16-thread process, the plain full path (freeze, process_vm_readv of every
 * page into fresh memory, thaw) for a ratio, and frozen times (full, 1% delta) against process
 * size from 16 MiB to 1 GiB, all after an unmeasured warm-up ({@link #warmUp}). Writes {@code capture.json} into the directory given
 * as the only argument. Needs root and gcc. Not thread-safe; a main program.
 */
public final class CaptureBench {
    private static final String BIGMEM_C = """
            #include <pthread.h>
            #include <signal.h>
            #include <stdint.h>
            #include <stdio.h>
            #include <stdlib.h>
            #include <unistd.h>
            #include <sys/mman.h>
            static volatile sig_atomic_t go;
            static void on_usr1(int s) { (void) s; go++; }
            static void *idle(void *a) { (void) a; for (;;) pause(); return NULL; }
            int main(int argc, char **argv) {
                size_t len = (size_t) atol(argv[1]) << 20;
                int threads = atoi(argv[2]);
                struct sigaction sa = { 0 };
                sa.sa_handler = on_usr1;
                sigaction(SIGUSR1, &sa, NULL);
                /* SIGUSR1 blocked but inside sigsuspend: one that lands between the test of go
                   and the wait (as after a freeze's restart of the wait) is not lost */
                sigset_t usr1, wait;
                sigemptyset(&usr1);
                sigaddset(&usr1, SIGUSR1);
                sigprocmask(SIG_BLOCK, &usr1, &wait);
                for (int i = 0; i < threads; i++) { pthread_t t; pthread_create(&t, NULL, idle, NULL); }
                uint64_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                madvise(m, len, MADV_NOHUGEPAGE);
                size_t pages = len / 4096;
                for (size_t p = 0; p < pages; p++) m[p * 512] = p + 1;
                printf("ready\\n"); fflush(stdout);
                uint64_t x = 88172645463325252ULL;
                for (int round = 1;; round++) {
                    int seen = go;
                    while (go == seen) sigsuspend(&wait);
                    for (size_t i = 0; i < pages / 100; i++) {
                        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                        m[(x % pages) * 512 + 1] = x;
                    }
                    printf("dirtied %d\\n", round); fflush(stdout);
                }
            }
            """;

    private CaptureBench() {}

    public static void main(String[] args) throws Exception {
        Path outDir = Path.of(args.length > 0 ? args[0] : ".");
        Files.createDirectories(outDir);
        Path work = Files.createTempDirectory("sls-capture-bench");
        Map<String, Object> result = new LinkedHashMap<>();
        KernelFeatures features = KernelFeatures.probe();
        result.put("kernel", features.kernelRelease());
        result.put("incremental", features.incrementalCheckpoints());
        // freeze.realtime, as slsd has it; SLS_BENCH_FREEZE_REALTIME=off measures freezes at normal priority
        boolean realtime = features.realtime() && !"off".equals(System.getenv("SLS_BENCH_FREEZE_REALTIME"));
        org.sls.slsd.capture.FreezePriority.enabled(realtime);
        result.put("freeze_realtime", realtime);
        List<Integer> started = new ArrayList<>();
        Reaper reaper = new Reaper();
        try {
            Path bin = compile(work);
            Slos.format(work.resolve("store.img"), FormatOptions.defaults().withSize(8L << 30));
            try (Slos store = Slos.open(work.resolve("store.img"), null);
                 CheckpointEngine engine = new CheckpointEngine(store, features, reaper)) {
                result.put("warmup_checkpoints", warmUp(engine, store, bin, work, reaper, started));
                store.createPartition(new PartitionRecord("big", PartitionRecord.BACKEND_SLOS, "delta", 0, 0, System.currentTimeMillis()));
                store.createPartition(new PartitionRecord("threads", PartitionRecord.BACKEND_SLOS, "delta", 0, 0, System.currentTimeMillis()));

                Path bigOut = work.resolve("big.out");
                int big = start(bin, List.of("1024", "0"), bigOut, reaper, started);
                await(bigOut, "ready");
                engine.attach("big", big, 0);
                List<Long> full = new ArrayList<>();
                long parent = 0;
                for (int i = 0; i < 3; i++) {
                    CheckpointResult r = engine.checkpoint("big", false, "full", parent);
                    full.add(r.frozenMicros());
                    parent = r.epoch();
                    if (i == 0) {
                        result.put("full_pages", r.pages());
                        result.put("full_commit_ms", r.commitMicros() / 1000.0);
                    }
                }
                result.put("full_frozen_ms", ms(full.get(0)));
                result.put("full_frozen_ms_median", ms(median(full)));
                result.put("full_frozen_ms_runs", full.stream().map(CaptureBench::ms).toList());

                CheckpointResult base = engine.checkpoint("big", false, "delta", parent);
                parent = base.epoch();
                List<Long> delta = new ArrayList<>();
                List<Long> deltaPages = new ArrayList<>();
                for (int i = 1; i <= 20; i++) {
                    CheckpointResult r = dirtyThenDelta(engine, "big", big, bigOut, i, parent);
                    parent = r.epoch();
                    delta.add(r.frozenMicros());
                    deltaPages.add(r.pages());
                }
                result.put("delta_1pct_frozen_ms_median", ms(median(delta)));
                result.put("delta_1pct_frozen_ms_max", ms(delta.stream().max(Comparator.naturalOrder()).orElse(0L)));
                result.put("delta_1pct_pages_median", median(deltaPages));
                engine.detach(big);

                long plain = plainFullPath(big, false);
                long plainWarm = plainFullPath(big, true);
                result.put("plain_process_vm_readv_frozen_ms", ms(plain));
                result.put("plain_process_vm_readv_prefaulted_frozen_ms", ms(plainWarm));
                result.put("ratio_plain_over_full", Math.round(plain * 100.0 / median(full)) / 100.0);
                result.put("ratio_plain_prefaulted_over_full", Math.round(plainWarm * 100.0 / median(full)) / 100.0);

                Path thOut = work.resolve("threads.out");
                int th = start(bin, List.of("1", "16"), thOut, reaper, started);
                await(thOut, "ready");
                List<Long> freezes = freezeTimes(th, 20);
                result.put("threads16_freeze_ms_median", ms(median(freezes)));
                engine.attach("threads", th, 0);
                CheckpointResult t1 = engine.checkpoint("threads", false, "delta", 0);
                List<Long> thDelta = new ArrayList<>();
                long tp = t1.epoch();
                for (int i = 0; i < 10; i++) {
                    CheckpointResult r = engine.checkpoint("threads", false, "delta", tp);
                    tp = r.epoch();
                    thDelta.add(r.frozenMicros());
                }
                result.put("threads16_checkpoint_frozen_ms_median", ms(median(thDelta)));
                engine.detach(th);

                // frozen time against process size: full (median of 3) and 1% delta (median of 5)
                List<Map<String, Object>> bySize = new ArrayList<>();
                for (int mib : new int[] {16, 64, 256}) {
                    String part = "size" + mib;
                    store.createPartition(new PartitionRecord(part, PartitionRecord.BACKEND_SLOS, "delta", 0, 0, System.currentTimeMillis()));
                    Path sOut = work.resolve(part + ".out");
                    int pid = start(bin, List.of(Integer.toString(mib), "0"), sOut, reaper, started);
                    await(sOut, "ready");
                    engine.attach(part, pid, 0);
                    List<Long> f = new ArrayList<>();
                    long sp = 0;
                    for (int i = 0; i < 3; i++) {
                        CheckpointResult r = engine.checkpoint(part, false, "full", sp);
                        sp = r.epoch();
                        f.add(r.frozenMicros());
                    }
                    sp = engine.checkpoint(part, false, "delta", sp).epoch();
                    List<Long> d = new ArrayList<>();
                    for (int i = 1; i <= 5; i++) {
                        CheckpointResult r = dirtyThenDelta(engine, part, pid, sOut, i, sp);
                        sp = r.epoch();
                        d.add(r.frozenMicros());
                    }
                    engine.detach(pid);
                    Linux.killIfAlive(pid, 9);
                    bySize.add(sizePoint(mib, median(f), median(d)));
                }
                bySize.add(sizePoint(1024, median(full), median(delta)));
                result.put("frozen_by_size", bySize);
            }
            result.put("goals", Map.of("full_frozen_ms", 300, "delta_1pct_frozen_ms_median", 15, "threads16_freeze_ms_median", 2));
        } finally {
            for (int pid : started) {
                Linux.killIfAlive(pid, 9);
                reaper.awaitExit(pid, Duration.ofSeconds(5));
            }
            reaper.close();
            deleteTree(work);
        }
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(outDir.resolve("capture.json").toFile(), result);
    }

    /**
     * Delta checkpoints of a 64 MiB process with 1% of its pages dirtied before each, for
     * {@code SLS_BENCH_CAPTURE_WARMUP_S} seconds (30 by default), unmeasured; then 5 s for the JIT's
     * queue to drain. The figures are those of a warm daemon: slsd compiles with C2 at a tenth of
     * the usual thresholds (bin/slsd, used here too), and in a cold JVM the compiler threads take
     * the two cores from the checkpoints measured (the 16-thread checkpoint froze 15 to 22 ms cold,
     * against 7 ms before that JIT setting). Returns how many checkpoints it took.
     */
    private static int warmUp(CheckpointEngine engine, Slos store, Path bin, Path work, Reaper reaper,
                              List<Integer> started) throws Exception {
        long seconds = Long.parseLong(System.getenv().getOrDefault("SLS_BENCH_CAPTURE_WARMUP_S", "30"));
        store.createPartition(new PartitionRecord("warm", PartitionRecord.BACKEND_SLOS, "delta", 0, 0, System.currentTimeMillis()));
        Path out = work.resolve("warm.out");
        int pid = start(bin, List.of("64", "0"), out, reaper, started); // one thread: SIGUSR1 must reach the one that waits
        await(out, "ready");
        engine.attach("warm", pid, 0);
        long parent = engine.checkpoint("warm", false, "full", 0).epoch();
        int n = 0;
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        while (System.nanoTime() < end) {
            parent = dirtyThenDelta(engine, "warm", pid, out, ++n, parent).epoch();
        }
        engine.detach(pid);
        Linux.killIfAlive(pid, 9);
        Thread.sleep(5000);
        return n;
    }

    /**
     * Has process {@code pid} (the bench program, one thread) dirty 1% of its pages as its
     * {@code round}th round, reported in {@code out}, then takes a delta checkpoint of
     * {@code part} on {@code parent}.
     */
    private static CheckpointResult dirtyThenDelta(CheckpointEngine engine, String part, int pid, Path out, int round,
                                                   long parent) throws Exception {
        Linux.kill(pid, 10);
        await(out, "dirtied " + round);
        return engine.checkpoint(part, false, "delta", parent);
    }

    private static Map<String, Object> sizePoint(int mib, long fullMicros, long deltaMicros) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("mib", mib);
        m.put("full_frozen_ms_median", ms(fullMicros));
        m.put("delta_1pct_frozen_ms_median", ms(deltaMicros));
        return m;
    }

    private static double ms(long micros) {
        return Math.round(micros / 10.0) / 100.0;
    }

    private static long median(List<Long> v) {
        long[] a = v.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(a);
        return a[a.length / 2];
    }

    private static Path compile(Path work) throws IOException, InterruptedException {
        Path src = work.resolve("bigmem.c");
        Files.writeString(src, BIGMEM_C);
        Path bin = work.resolve("bigmem");
        Process p = new ProcessBuilder("gcc", "-O2", "-pthread", "-o", bin.toString(), src.toString())
                .redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IOException("gcc: " + text);
        }
        return bin;
    }

    private static int start(Path bin, List<String> args, Path out, Reaper reaper, List<Integer> started) {
        List<String> argv = new ArrayList<>();
        argv.add(bin.toString());
        argv.addAll(args);
        int pid = Spawner.spawn(new Spawner.Spec(argv, null, null, null, out.toString(), out.toString(), -1), reaper);
        started.add(pid);
        return pid;
    }

    private static void await(Path file, String line) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (Files.exists(file) && Files.readAllLines(file).contains(line)) {
                return;
            }
            Thread.sleep(2);
        }
        throw new IllegalStateException("timed out waiting for '" + line + "' in " + file);
    }

    /** Freeze and thaw only, on one thread (ptrace affinity), n times. */
    private static List<Long> freezeTimes(int pid, int n) throws Exception {
        return onOneThread(() -> {
            List<Long> out = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                FrozenTree t = Freezer.freeze(List.of(pid), false, new java.util.HashSet<>());
                out.add(t.thaw());
                Thread.sleep(5);
            }
            return out;
        });
    }

    /**
     * The plain full path: freeze, process_vm_readv every mapped readable private page into a
     * buffer (fresh, or pre-faulted before the freeze), thaw.
     */
    private static long plainFullPath(int pid, boolean prefault) throws Exception {
        return onOneThread(() -> {
            List<Vma> vmas = ProcFs.maps(pid);
            long total = 0;
            for (Vma v : vmas) {
                if (v.readable() && !v.shared() && !v.special()) {
                    total += v.length();
                }
            }
            try (NativeMemory dst = NativeMemory.map(total, prefault, false);
                 IoVecs local = new IoVecs(IoVecs.IOV_MAX); IoVecs remote = new IoVecs(IoVecs.IOV_MAX)) {
                FrozenTree t = Freezer.freeze(List.of(pid), false, new java.util.HashSet<>());
                long off = 0;
                for (Vma v : ProcFs.maps(pid)) {
                    if (v.readable() && !v.shared() && !v.special()) {
                        local.clear();
                        remote.clear();
                        local.add(dst.address() + off, v.length());
                        remote.add(v.start(), v.length());
                        try {
                            Linux.processVmReadv(pid, local, remote);
                        } catch (RuntimeException e) {
                            // a region that cannot be read (guard pages): the plain path skips it too
                        }
                        off += v.length();
                    }
                }
                return t.thaw();
            }
        });
    }

    private static <T> T onOneThread(Callable<T> c) throws Exception {
        ExecutorService ex = Executors.newSingleThreadExecutor();
        try {
            return ex.submit(c).get();
        } finally {
            ex.shutdown();
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
