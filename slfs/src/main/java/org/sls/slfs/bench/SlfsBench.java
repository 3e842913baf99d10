package org.sls.slfs.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.sls.slfs.FsSnapshot;
import org.sls.slfs.Slfs;
import org.sls.slos.EpochWriter;
import org.sls.slos.FormatOptions;
import org.sls.slos.OpenOptions;
import org.sls.slos.PartitionRecord;
import org.sls.slos.Slos;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * slfs benchmark, in one run: sequential write (with a final fsync) and read of 1 GiB through
 * slfs and on the local file system that holds the store, creating 10,000 small files on both,
 * and the time {@link Slfs#snapshot} adds to a checkpoint's freeze when 1 MiB of file data
 * changed. Page caches are dropped before each read when running as root. Writes
 * {@code OUT/slfs.json}; logs through SLF4J, nothing on stdout. Not thread-safe (a program).
 */
public final class SlfsBench {
    private static final Logger log = LoggerFactory.getLogger(SlfsBench.class);
    private static final long GIB = 1L << 30;
    private static final int CHUNK = 1 << 20;
    private static final int SMALL_FILES = 10_000;
    private static final int FREEZES = 30;

    private SlfsBench() {
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args.length > 0 ? args[0] : "target/bench").toAbsolutePath();
        Files.createDirectories(out);
        Path work = Files.createTempDirectory(out, "slfs-bench-");
        Path image = work.resolve("store.img");
        Path mnt = work.resolve("mnt");
        Path local = work.resolve("local");
        Files.createDirectories(local);
        Map<String, Object> result = new LinkedHashMap<>();
        Slos.format(image, FormatOptions.defaults().withSize(4 * GIB));
        Slos store = Slos.open(image, null, OpenOptions.defaults());
        store.createPartition(new PartitionRecord("bench", PartitionRecord.BACKEND_SLOS, "full", 0, 0, System.currentTimeMillis()));
        Slfs slfs = new Slfs(store, null);
        try {
            slfs.mount(mnt);
            Path part = mnt.resolve("bench");
            result.put("storeIo", store.ioDescription());

            // slsd runs for days: measure the JIT-compiled FUSE path, not its first minute
            for (int i = 0; i < 2; i++) {
                writeMBps(part.resolve("warmup"));
                readMBps(part.resolve("warmup"));
            }
            Files.delete(part.resolve("warmup"));
            result.put("warmupGiB", 2);
            double lw = writeMBps(local.resolve("big"));
            double sw = writeMBps(part.resolve("big"));
            result.put("seqWrite1GiB", rates(sw, lw));
            boolean dropped = dropCaches();
            double lr = readMBps(local.resolve("big"));
            dropCaches();
            double sr = readMBps(part.resolve("big"));
            result.put("seqRead1GiB", rates(sr, lr));
            result.put("cachesDropped", dropped);
            Files.delete(local.resolve("big"));
            Files.delete(part.resolve("big"));

            double lf = smallFilesPerSec(local.resolve("many"));
            double sf = smallFilesPerSec(part.resolve("many"));
            Map<String, Object> small = new LinkedHashMap<>();
            small.put("files", SMALL_FILES);
            small.put("slfsPerSec", round(sf));
            small.put("localPerSec", round(lf));
            result.put("create10000SmallFiles", small);

            result.put("snapshotFreeze1MiB", freezes(store, slfs, part));
        } finally {
            slfs.close();
            store.close();
            deleteTree(work);
        }
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        json.writeValue(out.resolve("slfs.json").toFile(), result);
        log.info("slfs bench: {}", json.writeValueAsString(result));
    }

    private static Map<String, Object> rates(double slfs, double local) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("slfsMBps", round(slfs));
        m.put("localMBps", round(local));
        m.put("ratio", Math.round(slfs / local * 1000) / 1000.0);
        return m;
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }

    private static double writeMBps(Path f) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
        byte[] noise = new byte[CHUNK];
        new Random(42).nextBytes(noise);
        long t0 = System.nanoTime();
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            for (long off = 0; off < GIB; off += CHUNK) {
                buf.clear();
                buf.put(noise);
                buf.putLong(0, off); // no two chunks alike
                buf.flip();
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
            }
            ch.force(true);
        }
        return GIB / 1e6 / ((System.nanoTime() - t0) / 1e9);
    }

    private static double readMBps(Path f) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
        long t0 = System.nanoTime();
        long n = 0;
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            int r;
            while ((r = ch.read(buf)) > 0) {
                n += r;
                buf.clear();
            }
        }
        if (n != GIB) {
            throw new IllegalStateException("read " + n + " bytes of " + f + ", expected " + GIB);
        }
        return GIB / 1e6 / ((System.nanoTime() - t0) / 1e9);
    }

    private static boolean dropCaches() {
        try {
            Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3");
            return true;
        } catch (IOException e) {
            log.warn("slfs bench: cannot drop page caches ({}): local reads may come from memory", e.getMessage());
            return false;
        }
    }

    private static double smallFilesPerSec(Path dir) throws IOException {
        Files.createDirectories(dir);
        byte[] data = new byte[100];
        long t0 = System.nanoTime();
        for (int i = 0; i < SMALL_FILES; i++) {
            Files.write(dir.resolve("f" + i), data);
        }
        return SMALL_FILES / ((System.nanoTime() - t0) / 1e9);
    }

    /** Changes 1 MiB (16 files × 64 KiB) through the mount, then times snapshot(); writes each one into a checkpoint epoch. */
    private static Map<String, Object> freezes(Slos store, Slfs slfs, Path part) throws IOException {
        Path dir = part.resolve("ckpt");
        Files.createDirectories(dir);
        byte[] data = new byte[64 << 10];
        Random rnd = new Random(7);
        double[] ms = new double[FREEZES];
        long parent = 0;
        for (int i = 0; i < FREEZES; i++) {
            for (int f = 0; f < 16; f++) {
                rnd.nextBytes(data);
                Files.write(dir.resolve("f" + f), data);
            }
            long t0 = System.nanoTime();
            FsSnapshot s = slfs.snapshot("bench");
            ms[i] = (System.nanoTime() - t0) / 1e6;
            try (EpochWriter w = store.beginEpoch("bench", parent)) {
                s.writeTo(w);
                parent = w.commit().epoch();
            }
        }
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("changedBytes", 1 << 20);
        m.put("snapshots", FREEZES);
        m.put("medianMs", Math.round(sorted[FREEZES / 2] * 1000) / 1000.0);
        m.put("p90Ms", Math.round(sorted[(int) (FREEZES * 0.9)] * 1000) / 1000.0);
        m.put("maxMs", Math.round(sorted[FREEZES - 1] * 1000) / 1000.0);
        return m;
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(x);
            }
        }
    }
}
