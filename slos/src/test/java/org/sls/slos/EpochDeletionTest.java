package org.sls.slos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deleting epochs: merge down (the deleted epoch's single, smaller child moves into its layer)
 * and fold up (the deleted epoch's records copied into each child) must leave every remaining
 * epoch reading exactly what it read before, keep live counts equal to the references, and free
 * what nobody sees any more.
 */
class EpochDeletionTest {
    @TempDir
    Path dir;

    static final OpenOptions NO_CLEANER = OpenOptions.defaults().withBackgroundCleaner(false);

    private Path img;

    private Slos fresh(long size) {
        img = dir.resolve("d.img");
        Slos.format(img, FormatOptions.defaults().withSize(size).withSegmentSize(1 << 20));
        Slos s = Slos.open(img, null, NO_CLEANER);
        s.createPartition(new PartitionRecord("p", "slos", "delta", 0, 0, 0));
        return s;
    }

    private static void assertClean(Slos s) {
        FsckReport r = s.fsck(false);
        assertTrue(r.clean(), "fsck: " + r.problems());
    }

    /** Live pages in the segment table equal the pages the remaining epochs stored themselves. */
    private static void assertLiveMatchesEpochs(Slos s) {
        long stored = s.epochs("p").stream().mapToLong(EpochInfo::pages).sum();
        assertEquals(stored * Layout.PAGE_SIZE, s.usage().usedBytes(), "live bytes against the epochs' own pages");
    }

    private static void verifyAll(Slos s, TreeMap<Long, Pages.Model> models, long... objects) {
        assertEquals(List.copyOf(models.keySet()), s.epochs("p").stream().map(EpochInfo::epoch).toList());
        for (var e : models.entrySet()) {
            Pages.verify(s.reader("p", e.getKey()), e.getValue(), objects);
        }
    }

    @Test
    void deletingTheOldestOfAChainMergesDownAndChangesNoPage() {
        TreeMap<Long, Pages.Model> models = new TreeMap<>();
        long a;
        long b;
        long c;
        long d;
        long base;
        long e1;
        long e2;
        long e3;
        try (Slos s = fresh(64L << 20)) {
            a = s.newObjectId();
            b = s.newObjectId();
            c = s.newObjectId();
            d = s.newObjectId();
            Pages.Model m = new Pages.Model();
            try (EpochWriter w = s.beginEpoch("p", 0)) {
                // a: 1200 pages in many extents (runs of 1..40 pages between gaps), some longer than 256
                Random rnd = new Random(7);
                long p = 0;
                while (p < 1200) {
                    int run = rnd.nextInt(40) + 1;
                    if (p > 600 && p < 700) {
                        run = 300; // one run spanning several 256-page extents
                    }
                    for (long q = p; q < Math.min(1200, p + run); q++) {
                        w.writePage(a, q, Pages.page(q));
                        m.write(a, q, q);
                    }
                    p += run + 1 + rnd.nextInt(3);
                }
                for (long q = 0; q < 60; q++) {
                    w.writePage(b, q, Pages.page(10_000 + q));
                    m.write(b, q, 10_000 + q);
                }
                for (long q = 0; q < 20; q++) {
                    w.writePage(c, q, Pages.page(20_000 + q));
                    m.write(c, q, 20_000 + q);
                }
                base = w.commit().epoch();
            }
            models.put(base, m.copy());
            try (EpochWriter w = s.beginEpoch("p", base)) {
                for (long q = 10; q < 13; q++) { // the middle of a base extent: it is split in three
                    w.writePage(a, q, Pages.page(30_000 + q));
                    m.write(a, q, 30_000 + q);
                }
                w.writeHole(a, 650); // a hole inside the long run
                m.hole(a, 650);
                w.writePage(a, 651, ByteBuffer.allocateDirect(Layout.PAGE_SIZE)); // zeros: a hole
                m.hole(a, 651);
                w.truncate(b, 30); // drops b's pages 30..59 of the base
                m.truncate(b, 30);
                w.writePage(b, 40, Pages.page(31_000)); // written after the truncate: survives it
                m.write(b, 40, 31_000);
                w.deleteObject(c);
                m.delete(c);
                w.writePage(d, 3, Pages.page(32_000));
                m.write(d, 3, 32_000);
                e1 = w.commit().epoch();
            }
            models.put(e1, m.copy());
            try (EpochWriter w = s.beginEpoch("p", e1)) {
                for (long q = 0; q < 1200; q += 97) {
                    w.writePage(a, q, Pages.page(40_000 + q));
                    m.write(a, q, 40_000 + q);
                }
                w.writePage(c, 2, Pages.page(41_000)); // c recreated
                m.write(c, 2, 41_000);
                w.writePage(b, 5, Pages.page(41_001));
                m.write(b, 5, 41_001);
                e2 = w.commit().epoch();
            }
            models.put(e2, m.copy());
            try (EpochWriter w = s.beginEpoch("p", e2)) {
                w.truncate(a, 1000);
                m.truncate(a, 1000);
                w.writePage(a, 11, Pages.page(50_011));
                m.write(a, 11, 50_011);
                e3 = w.commit().epoch();
            }
            models.put(e3, m.copy());
            verifyAll(s, models, a, b, c, d);
            long baseBlocks = s.usage().usedBytes() / Layout.PAGE_SIZE;

            assertEquals(EpochDeletion.Direction.MERGE_DOWN, s.engine().deleteEpoch("p", base));
            models.remove(base);
            assertEquals(base, s.engine().epochs.get(e1).layer(), "epoch " + e1 + " takes the layer of " + base);
            assertEquals(0, s.engine().epochs.get(e1).parent());
            verifyAll(s, models, a, b, c, d);
            // b's pages 30..59 and c's 20 pages of the base, and a's 3 shadowed pages, lost their references.
            assertEquals(baseBlocks - 30 - 20 - 3 - 2, s.usage().usedBytes() / Layout.PAGE_SIZE);
            assertLiveMatchesEpochs(s);
            assertClean(s);

            assertEquals(EpochDeletion.Direction.MERGE_DOWN, s.engine().deleteEpoch("p", e1));
            models.remove(e1);
            assertEquals(base, s.engine().epochs.get(e2).layer());
            verifyAll(s, models, a, b, c, d);
            assertLiveMatchesEpochs(s);
            assertClean(s);
        }
        try (Slos s = Slos.open(img, null, NO_CLEANER)) {
            assertEquals(base, s.engine().epochs.get(e2).layer(), "the layer is durable");
            verifyAll(s, models, a, b, c, d);
            assertEquals(EpochDeletion.Direction.MERGE_DOWN, s.engine().deleteEpoch("p", e2));
            models.remove(e2);
            verifyAll(s, models, a, b, c, d);
            assertLiveMatchesEpochs(s);
            assertClean(s);
        }
    }

    @Test
    void foldsUpIntoSeveralChildrenOrABiggerChild() {
        TreeMap<Long, Pages.Model> models = new TreeMap<>();
        try (Slos s = fresh(64L << 20)) {
            long a = s.newObjectId();
            Pages.Model m = new Pages.Model();
            long small;
            try (EpochWriter w = s.beginEpoch("p", 0)) {
                for (long q = 0; q < 8; q++) {
                    w.writePage(a, q * 10, Pages.page(q));
                    m.write(a, q * 10, q);
                }
                small = w.commit().epoch();
            }
            Pages.Model big = m.copy();
            long bigger;
            try (EpochWriter w = s.beginEpoch("p", small)) {
                for (long q = 5; q < 400; q++) {
                    w.writePage(a, q, Pages.page(1000 + q));
                    big.write(a, q, 1000 + q);
                }
                bigger = w.commit().epoch();
            }
            models.put(bigger, big.copy());
            // A branch beside it, then the shared parent goes: two children, fold up.
            Pages.Model side = m.copy();
            long branch;
            try (EpochWriter w = s.beginEpoch("p", small)) {
                w.truncate(a, 35);
                side.truncate(a, 35);
                w.writePage(a, 1, Pages.page(2001));
                side.write(a, 1, 2001);
                branch = w.commit().epoch();
            }
            models.put(branch, side.copy());
            assertEquals(EpochDeletion.Direction.FOLD_UP, s.engine().deleteEpoch("p", small));
            verifyAll(s, models, a);
            assertEquals(bigger, s.engine().epochs.get(bigger).layer(), "folding up keeps the children's layers");
            assertLiveMatchesEpochs(s);
            assertClean(s);

            // A small epoch with one bigger child folds up too.
            long tiny;
            Pages.Model t = side.copy();
            try (EpochWriter w = s.beginEpoch("p", branch)) {
                for (long q = 0; q < 300; q++) {
                    w.writePage(a, q, Pages.page(3000 + q));
                    t.write(a, q, 3000 + q);
                }
                tiny = w.commit().epoch();
            }
            models.put(tiny, t.copy());
            assertEquals(EpochDeletion.Direction.FOLD_UP, s.engine().deleteEpoch("p", branch));
            models.remove(branch);
            verifyAll(s, models, a);
            assertLiveMatchesEpochs(s);
            assertClean(s);
        }
    }

    @Test
    void pruningTheOldestOverManyEpochsStaysCorrectAndFreesSpace() {
        TreeMap<Long, Pages.Model> models = new TreeMap<>();
        Random rnd = new Random(11);
        int pages = 2500;
        try (Slos s = fresh(48L << 20)) {
            long a = s.newObjectId();
            long b = s.newObjectId();
            Pages.Model m = new Pages.Model();
            long last;
            try (EpochWriter w = s.beginEpoch("p", 0)) {
                for (long q = 0; q < pages; q++) {
                    if (q % 37 != 36) { // gaps: many extents
                        w.writePage(a, q, Pages.page(q));
                        m.write(a, q, q);
                    }
                }
                last = w.commit().epoch();
            }
            models.put(last, m.copy());
            int merges = 0;
            for (int i = 1; i <= 300; i++) {
                try (EpochWriter w = s.beginEpoch("p", last)) {
                    for (int k = 0; k < 20; k++) {
                        long q = rnd.nextInt(pages);
                        long seed = (long) i * 100_000 + q;
                        w.writePage(a, q, Pages.page(seed));
                        m.write(a, q, seed);
                    }
                    long h = rnd.nextInt(pages);
                    w.writeHole(a, h);
                    m.hole(a, h);
                    if (i % 50 == 0) {
                        w.deleteObject(b);
                        m.delete(b);
                    } else {
                        long q = rnd.nextInt(40);
                        w.writePage(b, q, Pages.page(-i));
                        m.write(b, q, -i);
                    }
                    if (i % 70 == 0) {
                        w.truncate(a, pages - 100);
                        m.truncate(a, pages - 100);
                        w.writePage(a, pages - 50, Pages.page(-1_000_000 - i));
                        m.write(a, pages - 50, -1_000_000 - i);
                    }
                    last = w.commit().epoch();
                }
                models.put(last, m.copy());
                long oldest = models.firstKey();
                long before = s.engine().epochs.get(oldest).layer();
                List<Long> gone = s.prune("p", 4);
                for (long g : gone) {
                    models.remove(g);
                }
                if (!gone.isEmpty() && s.engine().epochs.get(models.firstKey()).layer() == before) {
                    merges++;
                }
                if (i % 30 == 0) {
                    verifyAll(s, models, a, b);
                    assertLiveMatchesEpochs(s);
                }
            }
            assertTrue(merges > 250, "the oldest epoch's single child merged down in " + merges + " of 300 prunes");
            verifyAll(s, models, a, b);
            assertLiveMatchesEpochs(s);
            assertClean(s);

            // Delete everything in a new epoch and keep only it: no page is referenced any more.
            try (EpochWriter w = s.beginEpoch("p", last)) {
                w.deleteObject(a);
                w.deleteObject(b);
                last = w.commit().epoch();
            }
            s.prune("p", 1);
            assertEquals(List.of(last), s.epochs("p").stream().map(EpochInfo::epoch).toList());
            StoreUsage u = s.usage();
            assertEquals(0, u.usedBytes(), "no live page is left");
            assertEquals(u.segments(), u.freeSegments(), "every segment is free");
            assertFalse(s.reader("p", last).exists(a));
            assertClean(s);
        }
    }
}
