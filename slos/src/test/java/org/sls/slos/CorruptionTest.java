package org.sls.slos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.WriteBatch;

class CorruptionTest {
    @TempDir
    Path dir;

    static final OpenOptions NO_CLEANER = OpenOptions.defaults().withBackgroundCleaner(false);

    Path img;
    long obj;
    long epoch;

    @BeforeEach
    void writeOneEpoch() {
        img = dir.resolve("c.img");
        Slos.format(img, FormatOptions.defaults().withSize(16L << 20).withSegmentSize(1 << 20));
        try (Slos s = Slos.open(img, null, NO_CLEANER)) {
            s.createPartition(new PartitionRecord("p", "slos", "delta", 0, 0, 0));
            obj = s.newObjectId();
            try (EpochWriter w = s.beginEpoch("p", 0)) {
                for (long p = 0; p < 4; p++) {
                    w.writePage(obj, p, Pages.page(p));
                }
                epoch = w.commit().epoch();
            }
        }
    }

    @Test
    void flippedDataByteIsReportedByReadAndFsck() throws Exception {
        // The first epoch of an empty store starts at the first segment: page 1 is its second block.
        try (FileChannel ch = FileChannel.open(img, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            long at = Layout.DATA_OFFSET + Layout.PAGE_SIZE + 123;
            ch.read(one, at);
            one.put(0, (byte) (one.get(0) ^ 0x40)).rewind();
            ch.write(one, at);
        }
        try (Slos s = Slos.open(img, null, NO_CLEANER)) {
            ObjectReader r = s.reader("p", epoch);
            assertTrue(r.readPage(obj, 0, ByteBuffer.allocate(Layout.PAGE_SIZE)));
            StoreException e = assertThrows(StoreException.class, () -> r.readPage(obj, 1, ByteBuffer.allocate(Layout.PAGE_SIZE)));
            assertEquals(StoreException.Kind.CORRUPT, e.kind());
            assertTrue(e.getMessage().contains("object " + obj + " page 1 epoch " + epoch + " (layer " + epoch + "): CRC32C mismatch"), e.getMessage());
            assertThrows(StoreException.class, () -> r.readPages(obj, 0, 4, ByteBuffer.allocate(4 * Layout.PAGE_SIZE)));

            FsckReport rep = s.fsck(true);
            assertFalse(rep.clean());
            assertEquals(List.of(FsckReport.Kind.DATA_CRC), rep.problems().stream().map(FsckReport.Problem::kind).toList());
            assertEquals("object " + obj + " page 1 epoch " + epoch + " (layer " + epoch + ")", rep.problems().get(0).where());
            assertEquals(4, rep.pagesChecked());
        }
    }

    @Test
    void flippedMetadataRecordIsReportedByReadAndFsck() {
        Path meta = dir.resolve("c.img.meta");
        try (MetaStore m = MetaStore.open("test", meta, false, false)) {
            byte[] key = Keys.extent(obj, epoch, 0); // a fresh epoch's layer is its number
            byte[] raw = m.getRaw(key);
            raw[3] ^= 0x01; // inside the block address
            try (WriteBatch b = new WriteBatch()) {
                m.putRaw(b, key, raw);
                m.write(b);
            }
        }
        try (Slos s = Slos.open(img, null, NO_CLEANER)) {
            StoreException e = assertThrows(StoreException.class,
                    () -> s.reader("p", epoch).readPage(obj, 2, ByteBuffer.allocate(Layout.PAGE_SIZE)));
            assertEquals(StoreException.Kind.CORRUPT, e.kind());
            assertTrue(e.getMessage().contains("metadata record extent object " + obj + " layer " + epoch + " page 0 fails its CRC32C"),
                    e.getMessage());
            FsckReport rep = s.fsck(false);
            assertFalse(rep.clean());
            FsckReport.Problem p = rep.problems().stream().filter(x -> x.kind() == FsckReport.Kind.METADATA_RECORD).findFirst().orElseThrow();
            assertEquals("extent object " + obj + " layer " + epoch + " page 0", p.where());
        }
    }

    @Test
    void fsckRepairsLaggingSuperblockAndSegmentCounts() {
        try (Slos s = Slos.open(img, null, NO_CLEANER)) {
            Engine e = s.engine();
            // Simulate lost accounting: a wrong live count persisted and loaded.
            try (WriteBatch b = new WriteBatch()) {
                e.putSegment(b, 0, new Records.Segment(99, 4));
                e.meta.write(b);
            }
            e.segs.addLive(0, 95);
            FsckReport rep = s.fsck(true);
            assertEquals(List.of(FsckReport.Kind.SEGMENT_USAGE), rep.problems().stream().map(FsckReport.Problem::kind).toList());
            assertTrue(rep.clean(), "repaired: " + rep.problems());
            assertTrue(s.fsck(false).problems().isEmpty());
        }
        try (Slos s = Slos.open(img, null, NO_CLEANER)) {
            assertTrue(s.fsck(false).problems().isEmpty());
            assertEquals(4L * Layout.PAGE_SIZE, s.usage().usedBytes());
        }
    }
}
