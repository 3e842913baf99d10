package org.sls.slos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.WriteBatch;

/**
 * A store of format version 1 (extents keyed 'X' object, page, epoch; epoch records without a
 * layer) opens: its extents are rewritten as 'L' records, its superblocks as version 2, and it
 * reads, checks and deletes epochs as before.
 */
class FormatUpgradeTest {
    @TempDir
    Path dir;

    static final OpenOptions NO_CLEANER = OpenOptions.defaults().withBackgroundCleaner(false);

    @Test
    void versionOneStoreIsUpgradedAtOpen() {
        MemorySegmentIo io = new MemorySegmentIo("upgrade", 16L << 20, false);
        Path meta = dir.resolve("meta");
        Slos.format(io, meta, FormatOptions.defaults().withSegmentSize(256 << 10));
        TreeMap<Long, Pages.Model> models = new TreeMap<>();
        long obj;
        try (Slos s = Slos.open(io, meta, NO_CLEANER)) {
            s.createPartition(new PartitionRecord("p", "slos", "delta", 0, 0, 0));
            obj = s.newObjectId();
            Pages.Model m = new Pages.Model();
            long parent = 0;
            for (int e = 0; e < 3; e++) {
                try (EpochWriter w = s.beginEpoch("p", parent)) {
                    for (long p = e; p < 200; p += 1 + e * 7) {
                        w.writePage(obj, p, Pages.page(e * 1000 + p));
                        m.write(obj, p, e * 1000 + p);
                    }
                    parent = w.commit().epoch();
                }
                models.put(parent, m.copy());
            }
        }
        // Turn it into what version 1 wrote.
        int[] legacy = {0};
        try (MetaStore m = MetaStore.open("test", meta, false, false); WriteBatch b = new WriteBatch()) {
            List<byte[]> keys = new ArrayList<>();
            List<byte[]> values = new ArrayList<>();
            m.scan(Keys.prefix(Keys.EXTENT), (k, v) -> {
                keys.add(k);
                values.add(v);
                return true;
            });
            for (int i = 0; i < keys.size(); i++) {
                byte[] k = keys.get(i);
                byte[] old = ByteBuffer.allocate(25).put(Keys.LEGACY_EXTENT).putLong(Keys.extentObject(k))
                        .putLong(Keys.extentStart(k)).putLong(Keys.extentLayer(k)).array();
                m.delete(b, k);
                m.put(b, old, values.get(i));
                legacy[0]++;
            }
            for (long e : models.keySet()) {
                byte[] v = m.get(Keys.epoch(e));
                m.put(b, Keys.epoch(e), java.util.Arrays.copyOf(v, v.length - 8)); // no layer field
            }
            m.write(b);
        }
        assertTrue(legacy[0] > 3);
        Superblock sb = Engine.chooseSuperblock("upgrade", Engine.readSuperblocks(io));
        for (int g = 1; g <= 2; g++) {
            Engine.writeSuperblockCopy(io, new Superblock(1, sb.uuid(), sb.blockSize(), sb.segmentSize(), sb.size(), sb.dataOffset(),
                    sb.generation() + g, sb.lastEpoch(), sb.mode(), sb.metaLocation()));
        }

        try (Slos s = Slos.open(io, meta, NO_CLEANER)) {
            for (Superblock.Decoded d : Engine.readSuperblocks(io)) {
                assertEquals(Layout.FORMAT_VERSION, d.sb().version(), "both superblock copies upgraded");
            }
            int[] left = {0};
            s.engine().meta.scanRaw(Keys.prefix(Keys.LEGACY_EXTENT), (k, v) -> ++left[0] > 0);
            assertEquals(0, left[0], "no version 1 extent left");
            for (long e : models.keySet()) {
                assertEquals(e, s.engine().epochs.get(e).layer(), "an old epoch record's layer is its number");
                Pages.verify(s.reader("p", e), models.get(e));
            }
            assertTrue(s.fsck(false).clean(), "fsck: " + s.fsck(false).problems());
            s.deleteEpoch("p", models.firstKey());
            models.remove(models.firstKey());
            for (long e : models.keySet()) {
                Pages.verify(s.reader("p", e), models.get(e));
            }
            assertTrue(s.fsck(false).clean(), "fsck: " + s.fsck(false).problems());
        }
    }
}
