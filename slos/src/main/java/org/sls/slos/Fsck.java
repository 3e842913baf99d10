package org.sls.slos;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.rocksdb.WriteBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks a store end to end: both superblock copies, the frame (CRC32C) of every metadata
 * record, every committed epoch (partition, parent, layer: unique and above its parent's), every
 * extent (that an epoch owns its layer, that it overlaps no other extent of its layer, bounds, the
 * CRC32C of every page it refers to) and every segment's live count and write pointer against the
 * references. With repair it rewrites what can be derived again: superblocks, segment records,
 * and records of epochs that do not exist; damaged data and damaged records are reported, never
 * dropped. Holds the engine's cleaner and commit locks while it runs. Not thread-safe by itself.
 */
final class Fsck {
    private static final Logger log = LoggerFactory.getLogger(Fsck.class);

    private final Engine eng;
    private final List<FsckReport.Problem> problems = new ArrayList<>();

    Fsck(Engine eng) {
        this.eng = eng;
    }

    private void problem(FsckReport.Kind kind, String where, String message, boolean repaired) {
        FsckReport.Problem p = new FsckReport.Problem(kind, where, message, repaired);
        log.warn("store {}: fsck: {}", eng.name, p);
        problems.add(p);
    }

    FsckReport run(boolean repair) {
        eng.checkOpen();
        eng.cleanerLock.lock();
        eng.commitLock.lock();
        try {
            return check(repair);
        } finally {
            eng.commitLock.unlock();
            eng.cleanerLock.unlock();
        }
    }

    private FsckReport check(boolean repair) {
        checkSuperblocks(repair);
        long[] records = {0};
        List<byte[]> orphans = new ArrayList<>();
        Set<String> partitions = new HashSet<>();
        eng.meta.scanRaw(new byte[0], (k, raw) -> {
            records[0]++;
            if (!MetaStore.frameOk(k, raw)) {
                problem(FsckReport.Kind.METADATA_RECORD, Keys.describe(k), "fails its CRC32C check", false);
                return true;
            }
            switch (k[0]) {
                case Keys.PARTITION -> partitions.add(Keys.string1(k));
                case Keys.BLOB -> {
                    if (eng.epochs.get(Keys.long1(k)) == null) {
                        orphans.add(k);
                    }
                }
                case Keys.TOUCHED -> {
                    if (eng.epochs.ownerOf(Keys.long1(k)) == 0) {
                        orphans.add(k);
                    }
                }
                case Keys.OBJECT -> {
                    if (eng.epochs.ownerOf(Keys.long2(k)) == 0) {
                        orphans.add(k);
                    }
                }
                case Keys.LEGACY_EXTENT -> problem(FsckReport.Kind.METADATA_RECORD, Keys.describe(k),
                        "extent record of format version 1 that was not migrated at open", false);
                default -> { }
            }
            return true;
        });
        List<Long> all = eng.epochs.all();
        java.util.Map<Long, Long> layerOwners = new java.util.HashMap<>();
        for (long e : all) {
            Records.Epoch r = eng.epochs.get(e);
            Long other = layerOwners.put(r.layer(), e);
            if (other != null) {
                problem(FsckReport.Kind.EPOCH, "epoch " + e, "its layer " + r.layer() + " is also the layer of epoch " + other, false);
            }
            if (r.layer() <= 0 || r.layer() > e) {
                problem(FsckReport.Kind.EPOCH, "epoch " + e, "its layer " + r.layer() + " is not between 1 and its own number", false);
            }
            if (!eng.inMemory && !partitions.contains(r.partition())) {
                problem(FsckReport.Kind.EPOCH, "epoch " + e, "belongs to partition " + r.partition() + ", which does not exist", false);
            }
            if (r.parent() != 0) {
                Records.Epoch p = eng.epochs.get(r.parent());
                if (p == null) {
                    problem(FsckReport.Kind.EPOCH, "epoch " + e, "its parent epoch " + r.parent() + " does not exist", false);
                } else if (p.parent() >= e || r.parent() >= e) {
                    problem(FsckReport.Kind.EPOCH, "epoch " + e, "its parent epoch " + r.parent() + " is not older", false);
                } else if (p.layer() >= r.layer()) {
                    problem(FsckReport.Kind.EPOCH, "epoch " + e, "its layer " + r.layer() + " is not above the layer "
                            + p.layer() + " of its parent epoch " + r.parent(), false);
                }
            }
        }
        long[] live = new long[eng.segs.count()];
        int[] maxEnd = new int[eng.segs.count()];
        long[] counts = {0, 0};
        List<byte[]> orphanExtents = new ArrayList<>();
        int segBlocks = eng.segs.segBlocks();
        byte[][] prev = {null};
        long[] prevEnd = {0};
        eng.meta.scanRaw(Keys.prefix(Keys.EXTENT), (k, raw) -> {
            if (!MetaStore.frameOk(k, raw)) {
                return true; // reported above
            }
            counts[0]++;
            long obj = Keys.extentObject(k);
            long layer = Keys.extentLayer(k);
            long start = Keys.extentStart(k);
            long epoch = eng.epochs.ownerOf(layer);
            Records.Extent x = Records.Extent.decode(Arrays.copyOf(raw, raw.length - 4));
            String where = "object " + obj + " pages " + start + "-" + (start + x.count() - 1) + " layer " + layer
                    + (epoch == 0 ? "" : " (epoch " + epoch + ")");
            if (prev[0] != null && Keys.extentObject(prev[0]) == obj && Keys.extentLayer(prev[0]) == layer && prevEnd[0] > start) {
                problem(FsckReport.Kind.EXTENT, where, "overlaps the extent before it in the same layer (which ends at page "
                        + (prevEnd[0] - 1) + ")", false);
            }
            prev[0] = k;
            prevEnd[0] = start + x.count();
            if (epoch == 0) {
                orphanExtents.add(k);
                if (x.kind() == Records.DATA && eng.segs.segmentOf(x.block()) >= 0) {
                    live[eng.segs.segmentOf(x.block())] += repair ? 0 : x.count();
                }
                problem(FsckReport.Kind.ORPHAN, where, "extent of an epoch that does not exist", repair);
                return true;
            }
            if (x.kind() != Records.DATA) {
                return true;
            }
            int seg = eng.segs.segmentOf(x.block());
            int lastSeg = eng.segs.segmentOf(x.block() + x.count() - 1);
            if (seg < 0 || lastSeg != seg) {
                problem(FsckReport.Kind.EXTENT, where, "blocks " + x.block() + "-" + (x.block() + x.count() - 1)
                        + " are outside the data area or cross a segment", false);
                return true;
            }
            live[seg] += x.count();
            int end = (int) (x.block() - eng.segs.block(seg, 0)) + x.count();
            maxEnd[seg] = Math.max(maxEnd[seg], end);
            ByteBuffer buf = eng.io.allocate(x.count() << Layout.BLOCK_SHIFT);
            eng.io.read(x.block() << Layout.BLOCK_SHIFT, buf);
            for (int i = 0; i < x.count(); i++) {
                counts[1]++;
                int got = Crc.page(buf, i << Layout.BLOCK_SHIFT);
                if (got != x.crcs()[i]) {
                    problem(FsckReport.Kind.DATA_CRC, "object " + obj + " page " + (start + i) + " epoch " + epoch + " (layer " + layer + ")",
                            String.format("CRC32C mismatch (stored %08x, read %08x) at byte offset %d", x.crcs()[i], got,
                                    (x.block() + i) << Layout.BLOCK_SHIFT), false);
                }
            }
            return true;
        });
        for (byte[] k : orphans) {
            problem(FsckReport.Kind.ORPHAN, Keys.describe(k), "belongs to an epoch that does not exist", repair);
        }
        List<Integer> badSegs = new ArrayList<>();
        for (int s = 0; s < live.length; s++) {
            SegmentTable.State st = eng.segs.state(s);
            long recorded = eng.segs.live(s);
            if (recorded != live[s]) {
                problem(FsckReport.Kind.SEGMENT_USAGE, "segment " + s, "records " + recorded + " live pages, references count "
                        + live[s], repair);
                badSegs.add(s);
            } else if (st != SegmentTable.State.HELD && maxEnd[s] > eng.segs.used(s)) {
                problem(FsckReport.Kind.SEGMENT_USAGE, "segment " + s, "write pointer " + eng.segs.used(s)
                        + " is below referenced block " + maxEnd[s], repair);
                badSegs.add(s);
            }
        }
        if (repair && (!orphans.isEmpty() || !orphanExtents.isEmpty() || !badSegs.isEmpty())) {
            try (WriteBatch b = new WriteBatch()) {
                for (byte[] k : orphans) {
                    eng.meta.delete(b, k);
                }
                for (byte[] k : orphanExtents) {
                    eng.meta.delete(b, k);
                }
                for (int s : badSegs) {
                    int used = live[s] == 0 ? 0 : Math.max(maxEnd[s], eng.segs.used(s));
                    eng.putSegment(b, s, new Records.Segment(live[s], used));
                }
                eng.meta.write(b);
            }
            for (int s : badSegs) {
                eng.segs.setUsed(s, Math.max(maxEnd[s], eng.segs.used(s)));
                eng.segs.addLive(s, live[s] - eng.segs.live(s));
            }
            eng.generation.incrementAndGet();
        }
        return new FsckReport(eng.name, problems, all.size(), counts[0], counts[1], records[0]);
    }

    private void checkSuperblocks(boolean repair) {
        Superblock.Decoded[] copies = Engine.readSuperblocks(eng.io);
        boolean bad = false;
        for (int i = 0; i < copies.length; i++) {
            Superblock.Decoded d = copies[i];
            if (d.sb() == null) {
                problem(FsckReport.Kind.SUPERBLOCK, "superblock copy " + i + " at offset " + Layout.SUPERBLOCK_OFFSETS[i],
                        switch (d.problem()) {
                            case NO_MAGIC -> "no magic";
                            case VERSION -> "format version " + d.foundVersion();
                            default -> "fails its CRC32C check";
                        }, repair);
                bad = true;
            } else if (!d.sb().uuid().equals(eng.uuid())) {
                problem(FsckReport.Kind.SUPERBLOCK, "superblock copy " + i, "UUID " + d.sb().uuid() + " differs from " + eng.uuid(), repair);
                bad = true;
            }
        }
        long last = eng.epochs.max();
        if (eng.superblock().lastEpoch() != last) {
            problem(FsckReport.Kind.SUPERBLOCK, "superblock", "last epoch " + eng.superblock().lastEpoch() + ", metadata has " + last, repair);
            bad = true;
        }
        if (bad && repair) {
            // Two writes refresh both copies (they alternate).
            eng.writeSuperblock(last);
            eng.writeSuperblock(last);
        }
    }
}
