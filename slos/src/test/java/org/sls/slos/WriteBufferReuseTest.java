package org.sls.slos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Epoch writers take their write buffers from the engine and give them back after commit or
 * abort ({@link Engine#takeWriteBuffer}). A reused buffer holds the bytes of an earlier epoch:
 * none of them may reach a later epoch's pages, and a buffer may not be reused while a write
 * from it is in flight.
 */
class WriteBufferReuseTest {
    @TempDir
    Path dir;

    @Test
    void reusedBuffersCarryNothingFromEarlierEpochs() {
        Path img = dir.resolve("w.img");
        // 256 KiB segments: a writer's buffer is one segment, so 300 pages take several writes.
        Slos.format(img, FormatOptions.defaults().withSize(64L << 20).withSegmentSize(256 << 10));
        TreeMap<Long, Pages.Model> models = new TreeMap<>();
        try (Slos s = Slos.open(img, null, EpochDeletionTest.NO_CLEANER)) {
            s.createPartition(new PartitionRecord("p", "slos", "delta", 0, 0, 0));
            long obj = s.newObjectId();
            Pages.Model m = new Pages.Model();
            long parent = 0;
            long seed = 1;
            for (int round = 0; round < 6; round++) {
                // Aborted in the middle, with a write in flight: its pages must appear nowhere.
                try (EpochWriter w = s.beginEpoch("p", parent)) {
                    for (int q = 0; q < 150; q++) {
                        w.writePage(obj, q, Pages.page(1_000_000 + seed + q));
                    }
                }
                m = m.copy();
                int pages = round % 2 == 0 ? 300 : 7; // a long epoch, then a short one in the same buffers
                try (EpochWriter w = s.beginEpoch("p", parent)) {
                    for (int q = 0; q < pages; q++) {
                        long page = (q * 7L + round) % 400;
                        w.writePage(obj, page, Pages.page(seed));
                        m.write(obj, page, seed++);
                    }
                    parent = w.commit().epoch();
                }
                models.put(parent, m);
            }
            Engine eng = s.engine();
            int bytes = 256 << 10;
            ByteBuffer a = eng.takeWriteBuffer(bytes);
            ByteBuffer b = eng.takeWriteBuffer(bytes);
            eng.giveWriteBuffer(b);
            assertSame(b, eng.takeWriteBuffer(bytes), "a buffer given back is the next one taken");
            eng.giveWriteBuffer(a);
            for (Map.Entry<Long, Pages.Model> e : models.entrySet()) {
                Pages.verify(s.reader("p", e.getKey()), e.getValue());
            }
            assertEquals(List.copyOf(models.keySet()), s.epochs("p").stream().map(EpochInfo::epoch).toList());
            FsckReport r = s.fsck(false);
            assertTrue(r.clean(), "fsck: " + r.problems());
        }
        try (Slos s = Slos.open(img, null, EpochDeletionTest.NO_CLEANER)) {
            for (Map.Entry<Long, Pages.Model> e : models.entrySet()) {
                Pages.verify(s.reader("p", e.getKey()), e.getValue());
            }
        }
    }
}
