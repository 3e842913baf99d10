package org.sls.slos;

import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * The child JVM of {@link CrashRandomTest}: writes epochs forever (with deletes and cleaner
 * passes) until it is killed. Before each commit it logs "BEGIN epoch digest" and after it
 * "COMMIT epoch"; deletions are logged as "DELETING" / "DELETED". Each epoch carries its own
 * model (object, page, seed) as the blob "model", so the parent can check its content.
 */
public final class CrashChild {
    private CrashChild() {}

    static final String PARTITION = "p";
    static final long[] OBJECTS = {1, 2, 3, 4};

    public static void main(String[] args) throws Exception {
        Path img = Path.of(args[0]);
        long seed = Long.parseLong(args[1]);
        Random rnd = new Random(seed);
        try (PrintStream log = new PrintStream(new FileOutputStream(args[2], true), true);
             Slos s = Slos.open(img, null, OpenOptions.defaults().withBackgroundCleaner(false))) {
            if (s.partition(PARTITION).isEmpty()) {
                s.createPartition(new PartitionRecord(PARTITION, "slos", "delta", 0, 0, 0));
            }
            long counter = 0;
            while (true) {
                long parent = s.lastEpoch(PARTITION).orElse(0);
                List<EpochInfo> eps = s.epochs(PARTITION);
                if (eps.size() > 2 && rnd.nextInt(5) == 0) {
                    parent = eps.get(rnd.nextInt(eps.size())).epoch(); // a branch
                }
                Pages.Model m = parent == 0 ? new Pages.Model() : decode(s.readBlob(PARTITION, parent, "model"));
                try (EpochWriter w = s.beginEpoch(PARTITION, parent)) {
                    int ops = 20 + rnd.nextInt(200);
                    for (int i = 0; i < ops; i++) {
                        long obj = OBJECTS[rnd.nextInt(OBJECTS.length)];
                        long page = rnd.nextInt(400);
                        int kind = rnd.nextInt(100);
                        if (kind < 85) {
                            long sd = seed * 1_000_000_000L + (++counter);
                            w.writePage(obj, page, Pages.page(sd));
                            m.write(obj, page, sd);
                        } else if (kind < 93) {
                            w.writeHole(obj, page);
                            m.hole(obj, page);
                        } else if (kind < 98) {
                            w.truncate(obj, page);
                            m.truncate(obj, page);
                        } else {
                            w.deleteObject(obj);
                            m.delete(obj);
                        }
                    }
                    w.putBlob("model", encode(m));
                    log.println("BEGIN " + w.epoch() + " " + digest(m));
                    w.commit();
                    log.println("COMMIT " + w.epoch());
                }
                eps = s.epochs(PARTITION);
                if (eps.size() > 6) {
                    long victim = eps.get(rnd.nextInt(eps.size() - 1)).epoch();
                    log.println("DELETING " + victim);
                    s.deleteEpoch(PARTITION, victim);
                    log.println("DELETED " + victim);
                }
                if (rnd.nextInt(4) == 0) {
                    s.clean();
                }
            }
        }
    }

    static byte[] encode(Pages.Model m) {
        int n = 0;
        for (TreeMap<Long, Long> pages : m.objects.values()) {
            n += pages.size();
        }
        ByteBuffer b = ByteBuffer.allocate(4 + m.objects.size() * 12 + n * 16);
        b.putInt(m.objects.size());
        for (Map.Entry<Long, TreeMap<Long, Long>> e : m.objects.entrySet()) {
            b.putLong(e.getKey()).putInt(e.getValue().size());
            for (Map.Entry<Long, Long> p : e.getValue().entrySet()) {
                b.putLong(p.getKey()).putLong(p.getValue());
            }
        }
        return b.array();
    }

    static Pages.Model decode(byte[] a) {
        ByteBuffer b = ByteBuffer.wrap(a);
        Pages.Model m = new Pages.Model();
        int objs = b.getInt();
        for (int i = 0; i < objs; i++) {
            long obj = b.getLong();
            int n = b.getInt();
            TreeMap<Long, Long> pages = new TreeMap<>();
            for (int j = 0; j < n; j++) {
                pages.put(b.getLong(), b.getLong());
            }
            m.objects.put(obj, pages);
        }
        return m;
    }

    static String digest(Pages.Model m) {
        return Integer.toHexString(java.util.Arrays.hashCode(encode(m)));
    }
}
