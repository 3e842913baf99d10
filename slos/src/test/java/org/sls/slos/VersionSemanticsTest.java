package org.sls.slos;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VersionSemanticsTest {
    @TempDir
    Path dir;

    static final OpenOptions NO_CLEANER = OpenOptions.defaults().withBackgroundCleaner(false);

    private Slos fresh() {
        Path img = dir.resolve("v.img");
        Slos.format(img, FormatOptions.defaults().withSize(64L << 20).withSegmentSize(1 << 20));
        Slos s = Slos.open(img, null, NO_CLEANER);
        s.createPartition(new PartitionRecord("p", "slos", "delta", 0, 0, 0));
        return s;
    }

    @Test
    void overwriteHoleTruncateDeleteRecreateAndBranch() {
        Map<Long, Pages.Model> models = new LinkedHashMap<>();
        long a;
        long b;
        long e1;
        long e2;
        long e3;
        long e4;
        Slos s = fresh();
        try {
            a = s.newObjectId();
            b = s.newObjectId();
            Pages.Model m = new Pages.Model();
            try (EpochWriter w = s.beginEpoch("p", 0)) {
                for (long p = 0; p < 10; p++) {
                    w.writePage(a, p, Pages.page(100 + p));
                    m.write(a, p, 100 + p);
                }
                for (long p = 0; p < 3; p++) {
                    w.writePage(b, p, Pages.page(200 + p));
                    m.write(b, p, 200 + p);
                }
                w.putBlob("manifest.json", "{\"e\":1}".getBytes(StandardCharsets.UTF_8));
                e1 = w.commit().epoch();
            }
            models.put(e1, m.copy());

            try (EpochWriter w = s.beginEpoch("p", e1)) {
                w.writePage(a, 3, Pages.page(300));
                m.write(a, 3, 300);
                w.writeHole(a, 5);
                m.hole(a, 5);
                w.writePage(a, 6, ByteBuffer.allocateDirect(Layout.PAGE_SIZE)); // zeros: a hole
                m.hole(a, 6);
                w.writePage(a, 9, Pages.page(301)); // written, then cut by the truncate below
                w.truncate(a, 8);
                m.truncate(a, 8);
                w.writePage(a, 9, Pages.page(302));
                m.write(a, 9, 302);
                w.deleteObject(b);
                m.delete(b);
                e2 = w.commit().epoch();
            }
            models.put(e2, m.copy());

            try (EpochWriter w = s.beginEpoch("p", e2)) {
                w.writePage(b, 1, Pages.page(400));
                m.write(b, 1, 400);
                w.writePage(a, 20, Pages.page(401));
                w.writePage(a, 20, Pages.page(402)); // the last write of a page wins
                m.write(a, 20, 402);
                w.writePage(a, 2, Pages.page(403));
                m.write(a, 2, 403);
                e3 = w.commit().epoch();
            }
            models.put(e3, m.copy());

            // Branch: restore e1 and checkpoint on top of it.
            Pages.Model br = models.get(e1).copy();
            try (EpochWriter w = s.beginEpoch("p", e1)) {
                w.writePage(a, 0, Pages.page(500));
                br.write(a, 0, 500);
                e4 = w.commit().epoch();
            }
            models.put(e4, br);
            assertTrue(e1 < e2 && e2 < e3 && e3 < e4);
            assertEquals(List.of(e1, e2, e3, e4), s.epochs("p").stream().map(EpochInfo::epoch).toList());
            for (Map.Entry<Long, Pages.Model> en : models.entrySet()) {
                Pages.verify(s.reader("p", en.getKey()), en.getValue(), a, b);
            }
            assertArrayEquals("{\"e\":1}".getBytes(StandardCharsets.UTF_8), s.readBlob("p", e1, "manifest.json"));
            StoreException nb = assertThrows(StoreException.class, () -> s.readBlob("p", e2, "manifest.json"));
            assertEquals(StoreException.Kind.NOT_FOUND, nb.kind());
        } finally {
            s.close();
        }
        try (Slos again = Slos.open(dir.resolve("v.img"), null, NO_CLEANER)) {
            for (Map.Entry<Long, Pages.Model> en : models.entrySet()) {
                Pages.verify(again.reader("p", en.getKey()), en.getValue(), a, b);
            }
            assertEquals(e4, again.lastEpoch("p").getAsLong());
            long a2 = again.newObjectId();
            assertTrue(a2 > b, "object ids never repeat after reopen");
        }
    }

    @Test
    void abortedEpochLeavesNothing() {
        try (Slos s = fresh()) {
            long o = s.newObjectId();
            long aborted;
            try (EpochWriter w = s.beginEpoch("p", 0)) {
                w.writePage(o, 0, Pages.page(1));
                aborted = w.epoch();
            }
            assertTrue(s.epochs("p").isEmpty());
            StoreException e = assertThrows(StoreException.class, () -> s.reader("p", aborted));
            assertEquals(StoreException.Kind.NOT_FOUND, e.kind());
            assertEquals(0, s.usage().usedBytes());
            try (EpochWriter w = s.beginEpoch("p", 0)) {
                w.writePage(o, 0, Pages.page(2));
                long e2 = w.commit().epoch();
                Pages.Model m = new Pages.Model();
                m.write(o, 0, 2);
                Pages.verify(s.reader("p", e2), m);
                assertTrue(e2 > aborted);
            }
        }
    }

    @Test
    void largeObjectsSpanSegmentsAndExtents() {
        try (Slos s = fresh()) {
            long o = s.newObjectId();
            Pages.Model m = new Pages.Model();
            long e;
            try (EpochWriter w = s.beginEpoch("p", 0)) {
                for (long p = 0; p < 1500; p++) {
                    w.writePage(o, p * 2 / 2 + (p >= 1000 ? 10 : 0), Pages.page(p));
                    m.write(o, p + (p >= 1000 ? 10 : 0), p);
                }
                EpochInfo info = w.commit();
                e = info.epoch();
                assertEquals(1500, info.pages());
            }
            Pages.verify(s.reader("p", e), m);
            assertEquals(1500L * Layout.PAGE_SIZE, s.usage().usedBytes());
        }
    }

    @Test
    void memoryBackendSameSemantics() {
        try (Slos s = fresh()) {
            s.createPartition(new PartitionRecord("mem", "memory", "delta", 0, 0, 0));
            long o = s.newObjectId();
            Pages.Model m = new Pages.Model();
            long e1;
            try (EpochWriter w = s.beginEpoch("mem", 0)) {
                w.writePage(o, 0, Pages.page(7));
                w.writePage(o, 1, Pages.page(8));
                m.write(o, 0, 7);
                m.write(o, 1, 8);
                e1 = w.commit().epoch();
            }
            Pages.Model m1 = m.copy();
            long e2;
            try (EpochWriter w = s.beginEpoch("mem", e1)) {
                w.writeHole(o, 0);
                m.hole(o, 0);
                e2 = w.commit().epoch();
            }
            Pages.verify(s.reader("mem", e1), m1);
            Pages.verify(s.reader("mem", e2), m);
            assertEquals(0, s.usage().usedBytes(), "memory epochs take no space in the store");
        }
        try (Slos s = Slos.open(dir.resolve("v.img"), null, NO_CLEANER)) {
            assertTrue(s.partition("mem").isPresent(), "the partition itself persists");
            assertTrue(s.epochs("mem").isEmpty(), "memory epochs are lost at close");
        }
    }
}
