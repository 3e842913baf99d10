package org.sls.slos.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.sls.slos.EpochInfo;
import org.sls.slos.EpochWriter;
import org.sls.slos.FormatOptions;
import org.sls.slos.Layout;
import org.sls.slos.ObjectReader;
import org.sls.slos.OpenOptions;
import org.sls.slos.PartitionRecord;
import org.sls.slos.Slos;

/**
 * The store benchmark ({@code scripts/bench}): in the directory given as the only argument it
 * (a) writes 1 GiB of random pages as one epoch to an image file and commits it, (b) measures
 * {@code dd if=/dev/zero of=FILE bs=1M count=1024 oflag=direct conv=fsync} on the same file
 * system, (c) reads the epoch back (a first pass, then a warm one), (d) commits epochs with 1%
 * of the pages changed, (e) measures metadata bytes per stored page, (f) times the prune of the
 * oldest epoch: a base object of {@value #PRUNE_BASE_PAGES} pages in many extents, then
 * {@value #PRUNE_ROUNDS} rounds of a {@value #PRUNE_DELTA_PAGES}-page scattered delta committed
 * on the newest epoch and a prune to {@value #PRUNE_KEEP} epochs (slsd's {@code --keep 4}).
 * Figure (f) times commit and prune apart, in wall-clock time and in CPU time of the calling
 * thread, and the CPU time of the whole process per round (RocksDB's background threads and the
 * writer's I/O threads included), since at 100 checkpoints a second every millisecond of CPU
 * per round is 10% of a core taken from the application.
 * With a second argument {@code prune} it runs (f) alone. Writes nothing to stdout; the figures
 * go to {@code store.json} in that directory. Its files are deleted afterwards.
 * Not thread-safe (a program).
 */
public final class StoreBench {
    private static final long GIB = 1L << 30;
    private static final int PAGES = (int) (GIB / Layout.PAGE_SIZE);

    static final int PRUNE_BASE_PAGES = 25_000;
    static final int PRUNE_DELTA_PAGES = 200;
    static final int PRUNE_ROUNDS = 1000;
    static final int PRUNE_KEEP = 4;
    /** Rounds before the process CPU time per round is measured (JIT, first flushes). */
    static final int PRUNE_WARMUP = 100;

    private StoreBench() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 1 && !(args.length == 2 && args[1].equals("prune"))) {
            throw new IllegalArgumentException("usage: StoreBench OUTPUT_DIR [prune]");
        }
        Path out = Path.of(args[0]).toAbsolutePath();
        Files.createDirectories(out);
        Path img = out.resolve("bench.img");
        Path meta = out.resolve("bench.img.meta");
        Path ddFile = out.resolve("dd.img");
        Map<String, Object> r = new LinkedHashMap<>();
        try {
            if (args.length == 1) {
                run(img, ddFile, r);
                deleteIfExists(img);
                deleteTree(meta);
            }
            prune(img, r);
        } finally {
            deleteIfExists(img);
            deleteIfExists(ddFile);
            deleteTree(meta);
        }
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        json.writeValue(out.resolve("store.json").toFile(), r);
    }

    private static void run(Path img, Path ddFile, Map<String, Object> r) throws Exception {
        Slos.format(img, FormatOptions.defaults().withSize(GIB + GIB / 2 + Layout.DATA_OFFSET).withForce(true));
        // Random pages from a 64 MiB pool: random content without paying for 1 GiB of random numbers.
        ByteBuffer pool = ByteBuffer.allocateDirect(64 << 20);
        Random rnd = new Random(42);
        byte[] chunk = new byte[1 << 20];
        while (pool.hasRemaining()) {
            rnd.nextBytes(chunk);
            pool.put(chunk);
        }
        int poolPages = pool.capacity() / Layout.PAGE_SIZE;
        try (Slos s = Slos.open(img, null, OpenOptions.defaults().withBackgroundCleaner(false))) {
            r.put("io", s.ioDescription());
            s.createPartition(new PartitionRecord("bench", "slos", "delta", 0, 0, System.currentTimeMillis()));
            long obj = s.newObjectId();

            // (a) 1 GiB as one epoch, durable when commit returns.
            long t0 = System.nanoTime();
            EpochInfo first;
            try (EpochWriter w = s.beginEpoch("bench", 0)) {
                for (int p = 0; p < PAGES; p++) {
                    pool.position((p % poolPages) * Layout.PAGE_SIZE);
                    w.writePage(obj, p, pool);
                }
                first = w.commit();
            }
            double writeS = (System.nanoTime() - t0) / 1e9;
            double writeMBs = GIB / writeS / 1e6;
            r.put("writeBytes", GIB);
            r.put("writeSeconds", round(writeS));
            r.put("writeMBps", round(writeMBs));

            // (b) dd on the same file system, same run.
            double ddMBs = dd(ddFile, r);
            r.put("ddMBps", round(ddMBs));
            r.put("writeVsDd", round(writeMBs / ddMBs));
            deleteIfExists(ddFile);

            // (c) read back: first pass (cold after O_DIRECT writes), then warm.
            ObjectReader reader = s.reader("bench", first.epoch());
            ByteBuffer dst = ByteBuffer.allocateDirect(256 * Layout.PAGE_SIZE);
            r.put("readFirstMBps", round(readAll(reader, obj, dst)));
            r.put("readWarmMBps", round(readAll(s.reader("bench", first.epoch()), obj, dst)));

            // (d) epochs with 1% of the pages changed.
            int changed = PAGES / 100;
            List<Double> commitMs = new ArrayList<>();
            List<Double> epochMs = new ArrayList<>();
            long parent = first.epoch();
            for (int round = 0; round < 7; round++) {
                int[] idx = rnd.ints(changed, 0, PAGES).sorted().toArray();
                long e0 = System.nanoTime();
                try (EpochWriter w = s.beginEpoch("bench", parent)) {
                    for (int p : idx) {
                        pool.position(rnd.nextInt(poolPages) * Layout.PAGE_SIZE);
                        w.writePage(obj, p, pool);
                    }
                    long c0 = System.nanoTime();
                    parent = w.commit().epoch();
                    long c1 = System.nanoTime();
                    commitMs.add((c1 - c0) / 1e6);
                    epochMs.add((c1 - e0) / 1e6);
                }
            }
            r.put("onePercentPages", changed);
            r.put("onePercentCommitMsMedian", round(median(commitMs)));
            r.put("onePercentCommitMsMax", round(commitMs.stream().max(Comparator.naturalOrder()).orElse(0.0)));
            r.put("onePercentEpochMsMedian", round(median(epochMs)));

            // (e) metadata per stored page, settled (flushed and compacted).
            long stored = s.epochs("bench").stream().mapToLong(EpochInfo::pages).sum();
            long metaBytes = s.compactMetadata();
            r.put("storedPages", stored);
            r.put("metadataBytes", metaBytes);
            r.put("metadataBytesPerPage", round((double) metaBytes / stored));

            r.put("goalWriteVsDd", writeMBs >= 0.8 * ddMBs);
            r.put("goalReadWarm1GBps", (double) r.get("readWarmMBps") >= 1000);
            r.put("goalOnePercentCommit20ms", median(commitMs) <= 20);
            r.put("goalMetadata32BytesPerPage", (double) metaBytes / stored <= 32);
        }
    }

    /** (f) Prune of the oldest epoch at keep 4, after each of many small scattered deltas. */
    private static void prune(Path img, Map<String, Object> r) throws IOException {
        Slos.format(img, FormatOptions.defaults().withSize(GIB + Layout.DATA_OFFSET).withForce(true));
        Random rnd = new Random(43);
        ByteBuffer pool = ByteBuffer.allocateDirect(16 << 20);
        byte[] chunk = new byte[1 << 20];
        while (pool.hasRemaining()) {
            rnd.nextBytes(chunk);
            pool.put(chunk);
        }
        int poolPages = pool.capacity() / Layout.PAGE_SIZE;
        List<Double> pruneMs = new ArrayList<>();
        List<Double> commitMs = new ArrayList<>();
        List<Double> pruneCpuMs = new ArrayList<>();
        List<Double> commitCpuMs = new ArrayList<>();
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        com.sun.management.OperatingSystemMXBean os =
                (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long processCpu0 = 0;
        long[] jitCpu0 = new long[1];
        long wall0 = 0;
        try (Slos s = Slos.open(img, null, OpenOptions.defaults().withBackgroundCleaner(false))) {
            s.createPartition(new PartitionRecord("prune", "slos", "delta", 0, 0, System.currentTimeMillis()));
            long obj = s.newObjectId();
            long parent;
            int extents = 0;
            try (EpochWriter w = s.beginEpoch("prune", 0)) {
                // Runs of 1-16 pages between one-page gaps: many extents, as a process image has.
                int p = 0;
                while (p < PRUNE_BASE_PAGES) {
                    int run = 1 + rnd.nextInt(16);
                    for (int q = p; q < Math.min(PRUNE_BASE_PAGES, p + run); q++) {
                        pool.position((q % poolPages) * Layout.PAGE_SIZE);
                        w.writePage(obj, q, pool);
                    }
                    extents++;
                    p += run + 1;
                }
                parent = w.commit().epoch();
            }
            for (int round = 0; round < PRUNE_ROUNDS; round++) {
                try (EpochWriter w = s.beginEpoch("prune", parent)) {
                    int[] idx = rnd.ints(PRUNE_DELTA_PAGES, 0, PRUNE_BASE_PAGES).sorted().distinct().toArray();
                    for (int q : idx) {
                        pool.position(rnd.nextInt(poolPages) * Layout.PAGE_SIZE);
                        w.writePage(obj, q, pool);
                    }
                    long cc0 = threads.getCurrentThreadCpuTime();
                    long c0 = System.nanoTime();
                    parent = w.commit().epoch();
                    commitMs.add((System.nanoTime() - c0) / 1e6);
                    commitCpuMs.add((threads.getCurrentThreadCpuTime() - cc0) / 1e6);
                }
                long pc0 = threads.getCurrentThreadCpuTime();
                long p0 = System.nanoTime();
                s.prune("prune", PRUNE_KEEP);
                pruneMs.add((System.nanoTime() - p0) / 1e6);
                pruneCpuMs.add((threads.getCurrentThreadCpuTime() - pc0) / 1e6);
                if (round == PRUNE_WARMUP - 1) {
                    processCpu0 = os.getProcessCpuTime();
                    jitCpu0[0] = jitCpuNanos();
                    wall0 = System.nanoTime();
                }
            }
            // Every thread of the process (writer, slos-io, RocksDB flush and compaction, JIT,
            // GC) per round after the warm-up rounds: what the store takes from the machine.
            double processCpuMsPerRound = (os.getProcessCpuTime() - processCpu0) / 1e6 / (PRUNE_ROUNDS - PRUNE_WARMUP);
            // Less the JIT compiler threads: a daemon pays for compilation once, not per round.
            double jitMsPerRound = (jitCpuNanos() - jitCpu0[0]) / 1e6 / (PRUNE_ROUNDS - PRUNE_WARMUP);
            double wallMsPerRound = (System.nanoTime() - wall0) / 1e6 / (PRUNE_ROUNDS - PRUNE_WARMUP);
            r.put("pruneBasePages", PRUNE_BASE_PAGES);
            r.put("pruneBaseExtents", extents);
            r.put("pruneDeltaPages", PRUNE_DELTA_PAGES);
            r.put("pruneRounds", PRUNE_ROUNDS);
            r.put("pruneKeep", PRUNE_KEEP);
            r.put("pruneMsMedian", round(median(pruneMs)));
            r.put("pruneMsP99", round(percentile(pruneMs, 0.99)));
            r.put("pruneMsMax", round(percentile(pruneMs, 1.0)));
            r.put("pruneCommitMsMedian", round(median(commitMs)));
            r.put("pruneCommitMsP99", round(percentile(commitMs, 0.99)));
            r.put("pruneCommitCpuMsMedian", round(median(commitCpuMs)));
            r.put("pruneCommitCpuMsMean", round(mean(commitCpuMs)));
            r.put("pruneCpuMsMedian", round(median(pruneCpuMs)));
            r.put("pruneCpuMsMean", round(mean(pruneCpuMs)));
            r.put("pruneRoundProcessCpuMs", round(processCpuMsPerRound));
            r.put("pruneRoundJitCpuMs", round(jitMsPerRound));
            r.put("pruneRoundCpuMsLessJit", round(processCpuMsPerRound - jitMsPerRound));
            r.put("pruneRoundWallMs", round(wallMsPerRound));
            r.put("pruneMetadataBytes", s.usage().metadataBytes());
            r.put("pruneMetadataBytesCompacted", s.compactMetadata());
            r.put("pruneFsckClean", s.fsck(false).clean());
        }
    }

    private static double percentile(List<Double> v, double q) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(a);
        return a.length == 0 ? 0 : a[Math.max(0, (int) Math.ceil(q * a.length) - 1)];
    }

    private static double readAll(ObjectReader reader, long obj, ByteBuffer dst) {
        long t0 = System.nanoTime();
        int per = dst.capacity() / Layout.PAGE_SIZE;
        long found = 0;
        for (long p = 0; p < PAGES; p += per) {
            dst.clear();
            found += reader.readPages(obj, p, per, dst);
        }
        double s = (System.nanoTime() - t0) / 1e9;
        if (found != PAGES) {
            throw new IllegalStateException("read back " + found + " pages of " + PAGES);
        }
        return GIB / s / 1e6;
    }

    private static double dd(Path file, Map<String, Object> r) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("dd", "if=/dev/zero", "of=" + file, "bs=1M", "count=1024", "oflag=direct", "conv=fsync")
                .redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IOException("dd failed: " + text);
        }
        // "1073741824 bytes (1.1 GB, 1.0 GiB) copied, 0.812 s, 1.3 GB/s"
        Matcher m = Pattern.compile("(\\d+) bytes .* copied, ([0-9.,]+) s").matcher(text);
        if (!m.find()) {
            throw new IOException("cannot read dd's output: " + text);
        }
        double secs = Double.parseDouble(m.group(2).replace(',', '.'));
        r.put("ddOutput", text.trim().lines().reduce((a, b) -> b).orElse(""));
        return Long.parseLong(m.group(1)) / secs / 1e6;
    }

    /**
     * CPU time of the JIT compiler threads of this process (Linux: /proc/self/task/N/stat, in
     * clock ticks, taken as 10 ms each); 0 where that cannot be read.
     */
    private static long jitCpuNanos() {
        long ticks = 0;
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                String stat;
                try {
                    stat = Files.readString(t.resolve("stat"));
                } catch (IOException e) {
                    continue; // the thread ended meanwhile
                }
                int open = stat.indexOf('('), close = stat.lastIndexOf(')');
                String comm = stat.substring(open + 1, close);
                if (!comm.startsWith("C1 Compiler") && !comm.startsWith("C2 Compiler")) {
                    continue;
                }
                String[] f = stat.substring(close + 2).split(" ");
                ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14, 15)
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return ticks * 10_000_000L;
    }

    private static double mean(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).average().orElse(0);
    }

    private static double median(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(a);
        return a.length == 0 ? 0 : a[a.length / 2];
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }

    private static void deleteIfExists(Path p) throws IOException {
        Files.deleteIfExists(p);
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
