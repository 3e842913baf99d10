package org.sls.slos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpaceTest {
    @TempDir
    Path dir;

    static final OpenOptions NO_CLEANER = OpenOptions.defaults().withBackgroundCleaner(false);

    private Slos fresh(long size, int keep) {
        Path img = dir.resolve("s.img");
        Slos.format(img, FormatOptions.defaults().withSize(size).withSegmentSize(256 << 10));
        Slos s = Slos.open(img, null, NO_CLEANER);
        s.createPartition(new PartitionRecord("p", "slos", "delta", 0, keep, 0));
        return s;
    }

    private static void assertClean(Slos s) {
        FsckReport r = s.fsck(false);
        assertTrue(r.clean(), "fsck: " + r.problems());
    }

    @Test
    void deletingEpochsKeepsWhatDescendantsSee() {
        TreeMap<Long, Pages.Model> models = new TreeMap<>();
        long a;
        long b;
        try (Slos s = fresh(32L << 20, 0)) {
            a = s.newObjectId();
            b = s.newObjectId();
            Pages.Model m = new Pages.Model();
            long parent = 0;
            long root = 0;
            for (int i = 0; i < 5; i++) {
                try (EpochWriter w = s.beginEpoch("p", parent)) {
                    for (long p = i; p < i + 6; p++) {
                        w.writePage(a, p, Pages.page(i * 100 + p));
                        m.write(a, p, i * 100 + p);
                    }
                    if (i == 1) {
                        w.writePage(b, 0, Pages.page(9));
                        m.write(b, 0, 9);
                        w.truncate(a, 5);
                        m.truncate(a, 5);
                    }
                    if (i == 2) {
                        w.writeHole(a, 2);
                        m.hole(a, 2);
                    }
                    if (i == 3) {
                        w.deleteObject(b);
                        m.delete(b);
                    }
                    parent = w.commit().epoch();
                }
                if (i == 0) {
                    root = parent;
                }
                models.put(parent, m.copy());
            }
            // A branch from the root: the root now has two children.
            Pages.Model br = models.get(root).copy();
            try (EpochWriter w = s.beginEpoch("p", root)) {
                w.writePage(a, 50, Pages.page(5000));
                br.write(a, 50, 5000);
                models.put(w.commit().epoch(), br);
            }
            long usedBefore = s.usage().usedBytes();
            List<Long> order = List.copyOf(models.keySet());
            for (long victim : new long[] {order.get(0), order.get(2), order.get(4)}) {
                s.deleteEpoch("p", victim);
                models.remove(victim);
                for (Map.Entry<Long, Pages.Model> e : models.entrySet()) {
                    Pages.verify(s.reader("p", e.getKey()), e.getValue(), a, b);
                }
                assertClean(s);
                StoreException gone = assertThrows(StoreException.class, () -> s.reader("p", victim));
                assertEquals(StoreException.Kind.NOT_FOUND, gone.kind());
            }
            assertTrue(s.usage().usedBytes() < usedBefore, "deleting epochs released pages no one sees");
        }
        try (Slos s = Slos.open(dir.resolve("s.img"), null, NO_CLEANER)) {
            for (Map.Entry<Long, Pages.Model> e : models.entrySet()) {
                Pages.verify(s.reader("p", e.getKey()), e.getValue(), a, b);
            }
            assertClean(s);
        }
    }

    @Test
    void keepPrunesOldestEpochs() {
        try (Slos s = fresh(32L << 20, 3)) {
            long o = s.newObjectId();
            Pages.Model m = new Pages.Model();
            long parent = 0;
            for (int i = 0; i < 6; i++) {
                try (EpochWriter w = s.beginEpoch("p", parent)) {
                    w.writePage(o, i, Pages.page(i));
                    m.write(o, i, i);
                    parent = w.commit().epoch();
                }
            }
            assertEquals(3, s.epochs("p").size());
            Pages.verify(s.reader("p", parent), m);
            assertClean(s);
        }
    }

    @Test
    void fullStoreFailsCleanlyAndRecovers() {
        try (Slos s = fresh(4L << 20, 0)) { // 12 segments of 256 KiB, one reserved
            long o = s.newObjectId();
            Pages.Model m = new Pages.Model();
            long parent = 0;
            long page = 0;
            StoreException full = null;
            for (int i = 0; i < 100 && full == null; i++) {
                try (EpochWriter w = s.beginEpoch("p", parent)) {
                    Pages.Model next = m.copy();
                    for (int k = 0; k < 100; k++, page++) {
                        w.writePage(o, page, Pages.page(page));
                        next.write(o, page, page);
                    }
                    parent = w.commit().epoch();
                    m = next;
                } catch (StoreException e) {
                    full = e;
                }
            }
            if (full == null) {
                fail("a 4 MiB store took 40 MiB");
            }
            assertEquals(StoreException.Kind.FULL, full.kind());
            assertTrue(full.getMessage().startsWith("store full"), full.getMessage());
            Pages.verify(s.reader("p", parent), m);
            assertClean(s);
            try (EpochWriter w = s.beginEpoch("p", parent)) {
                StoreException again = assertThrows(StoreException.class, () -> {
                    for (long k = 0; k < 10_000; k++) {
                        w.writePage(o, k, Pages.page(k + 77));
                    }
                });
                assertEquals(StoreException.Kind.FULL, again.kind());
                StoreException atCommit = assertThrows(StoreException.class, w::commit);
                assertEquals(StoreException.Kind.FULL, atCommit.kind(), atCommit.getMessage());
            }
            Pages.verify(s.reader("p", parent), m);
            assertClean(s);
            // Deleting the partition's history makes room again.
            for (EpochInfo e : s.epochs("p")) {
                s.deleteEpoch("p", e.epoch());
            }
            assertEquals(0, s.usage().usedBytes());
            try (EpochWriter w = s.beginEpoch("p", 0)) {
                for (int k = 0; k < 300; k++) {
                    w.writePage(o, k, Pages.page(k));
                }
                w.commit();
            }
            assertClean(s);
        }
    }

    @Test
    void cleanerReclaimsSpaceWhileEpochsAreWritten() throws Exception {
        // 16 MiB: 60 segments of 256 KiB. Each epoch rewrites 60 pages of a and adds one page to b
        // (kept for ever), so every segment stays partly live and only the cleaner frees space.
        try (Slos s = fresh(16L << 20, 2)) {
            long a = s.newObjectId();
            long b = s.newObjectId();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong moved = new AtomicLong();
            AtomicLong freed = new AtomicLong();
            AtomicReference<Throwable> cleanerError = new AtomicReference<>();
            Thread cleaner = new Thread(() -> {
                try {
                    while (!stop.get()) {
                        CleanerReport r = s.clean();
                        moved.addAndGet(r.pagesMoved());
                        freed.addAndGet(r.segmentsFreed());
                        Thread.sleep(2);
                    }
                } catch (Throwable t) {
                    cleanerError.set(t);
                }
            });
            cleaner.start();
            Pages.Model m = new Pages.Model();
            long parent = 0;
            long written = 0;
            try {
                for (int i = 0; i < 400; i++) {
                    try (EpochWriter w = s.beginEpoch("p", parent)) {
                        for (long p = 0; p < 60; p++) {
                            w.writePage(a, p, Pages.page(i * 1000L + p));
                            m.write(a, p, i * 1000L + p);
                        }
                        w.writePage(b, i, Pages.page(-i - 1));
                        m.write(b, i, -i - 1);
                        parent = w.commit().epoch();
                        written += 61L * Layout.PAGE_SIZE;
                    }
                }
            } finally {
                stop.set(true);
                cleaner.join();
            }
            if (cleanerError.get() != null) {
                throw new AssertionError("cleaner thread failed", cleanerError.get());
            }
            assertTrue(written > 4 * (16L << 20), "wrote " + written + " bytes through a 16 MiB store");
            assertTrue(moved.get() > 0 && freed.get() > 0, "the cleaner moved " + moved + " pages, freed " + freed + " segments");
            Pages.verify(s.reader("p", parent), m);
            assertEquals(2, s.epochs("p").size());
            assertClean(s);
        }
    }
}
