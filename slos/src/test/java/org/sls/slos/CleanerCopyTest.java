package org.sls.slos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.IdentityHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deterministic test of the cleaner's copy (step 3) with buffers that have more capacity than
 * asked for, as {@link FileSegmentIo#allocate} used to return whenever the allocation happened to
 * be page-aligned already. The cleaner then wrote its one-page copies with a spare block of zeros
 * after them; a copy ending at the last block of its destination overwrote block 0 of the next
 * segment (a committed page: CRC32C mismatch, read 98f94189, the CRC of a zero page).
 */
class CleanerCopyTest {
    @TempDir
    Path dir;

    /** Memory device whose buffers always have one spare block of capacity; checks every write. */
    static final class SpareCapacityIo implements SegmentIo {
        final MemorySegmentIo io;
        final Map<ByteBuffer, Integer> asked = new IdentityHashMap<>();
        final long dataOffset;
        final int segmentSize;

        SpareCapacityIo(MemorySegmentIo io, long dataOffset, int segmentSize) {
            this.io = io;
            this.dataOffset = dataOffset;
            this.segmentSize = segmentSize;
        }

        @Override public long size() { return io.size(); }
        @Override public int alignment() { return io.alignment(); }
        @Override public boolean memoryCopy() { return io.memoryCopy(); }
        @Override public void sync() { io.sync(); }
        @Override public void sync(long offset, long length) { io.sync(offset, length); }
        @Override public void read(long offset, ByteBuffer dst) { io.read(offset, dst); }
        @Override public String describe() { return "spare-capacity " + io.describe(); }
        @Override public void close() { io.close(); }

        @Override
        public synchronized ByteBuffer allocate(int bytes) {
            ByteBuffer b = ByteBuffer.allocateDirect(bytes + Layout.BLOCK_SIZE).limit(bytes);
            asked.put(b, bytes);
            return b;
        }

        @Override
        public void write(long offset, ByteBuffer src) {
            Integer n;
            synchronized (this) {
                n = asked.get(src);
            }
            if (n != null && src.remaining() > n) {
                throw new AssertionError("write of " + src.remaining() + " bytes at " + offset + " from a buffer of " + n);
            }
            if (offset >= dataOffset) {
                long seg = (offset - dataOffset) / segmentSize;
                long lastSeg = (offset + src.remaining() - 1 - dataOffset) / segmentSize;
                if (seg != lastSeg) {
                    throw new AssertionError("write of " + src.remaining() + " bytes at " + offset + " crosses from segment " + seg
                            + " into " + lastSeg);
                }
            }
            io.write(offset, src);
        }
    }

    @Test
    void cleanerCopiesExactlyTheExtentsItMoves() {
        int segSize = 256 << 10;
        MemorySegmentIo mem = new MemorySegmentIo("cleaner-copy", 16L << 20, false);
        SpareCapacityIo io = new SpareCapacityIo(mem, 1L << 20, segSize);
        Path meta = dir.resolve("meta");
        Slos.format(io, meta, FormatOptions.defaults().withSegmentSize(segSize));
        try (Slos s = Slos.open(io, meta, SpaceTest.NO_CLEANER)) {
            s.createPartition(new PartitionRecord("p", "slos", "delta", 0, 0, 0));
            long a = s.newObjectId();
            long b = s.newObjectId();
            Pages.Model m = new Pages.Model();
            long first;
            // b's pages are single-page extents scattered among a's: the cleaner copies them one by one,
            // 64 to a destination segment, so copies end exactly at a segment's last block.
            try (EpochWriter w = s.beginEpoch("p", 0)) {
                for (long p = 0; p < 1200; p++) {
                    w.writePage(a, p, Pages.page(p));
                    m.write(a, p, p);
                    if (p % 4 == 0) {
                        w.writePage(b, p, Pages.page(-p - 1));
                        m.write(b, p, -p - 1);
                    }
                }
                first = w.commit().epoch();
            }
            long second;
            try (EpochWriter w = s.beginEpoch("p", first)) {
                for (long p = 0; p < 1200; p++) {
                    w.writePage(a, p, Pages.page(5000 + p));
                    m.write(a, p, 5000 + p);
                }
                second = w.commit().epoch();
            }
            s.deleteEpoch("p", first);
            CleanerReport r = s.clean();
            assertTrue(r.pagesMoved() >= 64 && r.segmentsFreed() > 0, "cleaner: " + r);
            // The space freed is written again, and every page still reads back.
            try (EpochWriter w = s.beginEpoch("p", second)) {
                for (long p = 0; p < 600; p++) {
                    w.writePage(a, p, Pages.page(9000 + p));
                    m.write(a, p, 9000 + p);
                }
                second = w.commit().epoch();
            }
            Pages.verify(s.reader("p", second), m);
            FsckReport f = s.fsck(false);
            assertTrue(f.clean(), "fsck: " + f.problems());
            assertEquals(2, s.epochs("p").size());
        }
    }
}
