package org.sls.slos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The steady state of a checkpointed process (commit a small scattered delta on the newest
 * epoch, then delete the oldest, keep 4) long enough that RocksDB flushes its small memtable and
 * compacts on its own, including the compactions that deletion-heavy files trigger
 * ({@link MetaStore#tuneForChurn}). Flush and compaction drop deleted keys and old versions: no
 * record may be lost and none resurrected, so every kept epoch reads exactly its model, before and
 * after a reopen, and fsck finds nothing wrong.
 */
class MetadataChurnTest {
    @TempDir
    Path dir;

    static final int BASE_PAGES = 3000;
    static final int DELTA_PAGES = 80;
    static final int ROUNDS = 500;
    static final int KEEP = 4;

    @Test
    void flushAndCompactionUnderCommitAndPruneLoseAndResurrectNothing() {
        Path img = dir.resolve("churn.img");
        Slos.format(img, FormatOptions.defaults().withSize(256L << 20).withSegmentSize(1 << 20));
        Random rnd = new Random(11);
        TreeMap<Long, Pages.Model> models = new TreeMap<>();
        long obj;
        long seed = 1;
        try (Slos s = Slos.open(img, null, EpochDeletionTest.NO_CLEANER)) {
            s.createPartition(new PartitionRecord("p", "slos", "delta", 0, 0, 0));
            obj = s.newObjectId();
            Pages.Model m = new Pages.Model();
            long parent;
            try (EpochWriter w = s.beginEpoch("p", 0)) {
                int p = 0;
                while (p < BASE_PAGES) {
                    int run = 1 + rnd.nextInt(16);
                    for (int q = p; q < Math.min(BASE_PAGES, p + run); q++) {
                        w.writePage(obj, q, Pages.page(seed));
                        m.write(obj, q, seed++);
                    }
                    p += run + 1;
                }
                parent = w.commit().epoch();
            }
            models.put(parent, m);
            for (int round = 0; round < ROUNDS; round++) {
                m = m.copy();
                try (EpochWriter w = s.beginEpoch("p", parent)) {
                    for (int q : rnd.ints(DELTA_PAGES, 0, BASE_PAGES + 50).sorted().distinct().toArray()) {
                        if (rnd.nextInt(20) == 0) {
                            w.writeHole(obj, q);
                            m.hole(obj, q);
                        } else {
                            w.writePage(obj, q, Pages.page(seed));
                            m.write(obj, q, seed++);
                        }
                    }
                    parent = w.commit().epoch();
                }
                models.put(parent, m);
                List<Long> pruned = s.prune("p", KEEP);
                pruned.forEach(models::remove);
                if (round % 100 == 99) {
                    verify(s, models, obj);
                }
            }
            MetaStore meta = s.engine().meta;
            // Flushes make level-0 files; only compactions make files below (RocksDB puts them
            // at the bottom level, with level_compaction_dynamic_level_bytes).
            long below = 0;
            for (int level = 1; level < 7; level++) {
                below += meta.longProperty("rocksdb.num-files-at-level" + level);
            }
            assertTrue(below > 0, "RocksDB compacted on its own (files below level 0: " + below + ", at level 0: "
                    + meta.longProperty("rocksdb.num-files-at-level0") + ")");
            assertTrue(meta.longProperty("rocksdb.cur-size-all-mem-tables") < 4L * MetaStore.WRITE_BUFFER_BYTES,
                    "memtables stay small: " + meta.longProperty("rocksdb.cur-size-all-mem-tables"));
            verify(s, models, obj);
            FsckReport r = s.fsck(false);
            assertTrue(r.clean(), "fsck: " + r.problems());
        }
        try (Slos s = Slos.open(img, null, EpochDeletionTest.NO_CLEANER)) {
            verify(s, models, obj);
            s.compactMetadata();
            verify(s, models, obj);
            FsckReport r = s.fsck(false);
            assertTrue(r.clean(), "fsck after reopen and a full compaction: " + r.problems());
        }
    }

    private static void verify(Slos s, TreeMap<Long, Pages.Model> models, long obj) {
        assertEquals(List.copyOf(models.keySet()), s.epochs("p").stream().map(EpochInfo::epoch).toList());
        for (Map.Entry<Long, Pages.Model> e : models.entrySet()) {
            Pages.verify(s.reader("p", e.getKey()), e.getValue(), obj);
        }
    }
}
