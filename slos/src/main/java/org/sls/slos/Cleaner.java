package org.sls.slos;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;
import org.rocksdb.WriteBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How to clean: copies the live pages of sparse segments into other segments and frees them.
 * {@link CleanerPolicy} says when, {@link VictimSelector} what. Steps of one pass, and what
 * recovery does after a crash at each:
 *
 * <ol>
 * <li><b>Choose</b> victims and hold them (writers cannot append to them). <i>Crash:</i> nothing
 *     changed on disk.</li>
 * <li><b>Find references</b>: scan the extent records for data in the victims (no lock held;
 *     commits go on). <i>Crash:</i> nothing changed.</li>
 * <li><b>Copy</b> each found extent, checked against its CRCs, to destination segments
 *     (append-only), then sync. Each copy writes exactly the extent's {@code count} blocks at the
 *     destination's write pointer: a buffer from {@link SegmentIo#allocate} may have more
 *     capacity than asked for, so the write's limit is set explicitly, never by
 *     {@code clear()}. (It once was: when the allocation happened to come back page-aligned,
 *     {@link FileSegmentIo} handed out one spare block of zeros, and a copy ending at the last
 *     block of its destination wrote those zeros over block 0 of the next segment, destroying a
 *     committed page there: a CRC32C mismatch reading zeros, 98f94189.)
 *     <i>Crash:</i> the copies are referenced by nothing and beyond the
 *     persisted write pointers: written over later. Victims intact.</li>
 * <li><b>Commit</b>: under the commit lock, one RocksDB batch with sync rewrites every extent
 *     record whose value is still the one scanned (a concurrent deletion may have changed it:
 *     then it is left alone) to its new place, with the segment records of victims and
 *     destinations. <i>Crash before durable:</i> as step 3. <i>After:</i> the new places are
 *     live; a victim with no live page left is free at the next open.</li>
 * <li><b>Free</b>: under the lifecycle write lock (no read in flight), live counts move, victims
 *     with no live page become free, destinations are released, readers' caches are invalidated.
 *     <i>Crash:</i> nothing changes on disk in this step.</li>
 * </ol>
 *
 * One pass at a time per engine (a lock); commits wait only for step 4's batch.
 * Not thread-safe by itself: one instance per pass.
 */
final class Cleaner {
    private static final Logger log = LoggerFactory.getLogger(Cleaner.class);
    static final String PROTOCOL = "cleaner";

    /** What to look for: at most {@code max} victims with at most {@code maxLiveRatio} live. */
    record Selection(int max, double maxLiveRatio) {
        /** A writer found no space: anything not completely live is worth it. */
        static Selection forSpace() {
            return new Selection(16, 0.95);
        }

        /** Background: clearly sparse segments only. */
        static Selection sparse() {
            return new Selection(8, 0.5);
        }
    }

    /** What a pass did. */
    record Report(int victims, long pagesMoved, int segmentsFreed) {}

    private record Ref(byte[] key, byte[] raw, Records.Extent x) {}

    private final Engine eng;

    Cleaner(Engine eng) {
        this.eng = eng;
    }

    Report clean(Selection sel) {
        ReentrantLock pass = eng.cleanerLock;
        pass.lock();
        try {
            return pass(sel);
        } finally {
            pass.unlock();
        }
    }

    private Report pass(Selection sel) {
        eng.checkOpen();
        int segBlocks = eng.segs.segBlocks();
        eng.step(PROTOCOL, 1);
        long freeBlocks = (long) eng.segs.freeCount() * segBlocks;
        List<Integer> chosen = VictimSelector.choose(eng.segs.snapshot(), segBlocks, sel.max(), sel.maxLiveRatio(), freeBlocks);
        Set<Integer> victims = new HashSet<>();
        for (int v : chosen) {
            if (eng.segs.hold(v)) {
                victims.add(v);
            }
        }
        if (victims.isEmpty()) {
            return new Report(0, 0, 0);
        }
        List<int[]> dests = new ArrayList<>(); // {seg, startUsed, end}
        Map<Integer, Long> liveDelta = new HashMap<>();
        List<Ref> moved = new ArrayList<>();
        List<Long> newBlocks = new ArrayList<>();
        boolean committed = false;
        try {
            eng.step(PROTOCOL, 2);
            List<Ref> refs = new ArrayList<>();
            eng.meta.scanRaw(Keys.prefix(Keys.EXTENT), (k, raw) -> {
                if (!MetaStore.frameOk(k, raw)) {
                    return true; // fsck reports it; moving a damaged record would hide the damage
                }
                Records.Extent x = Records.Extent.decode(Arrays.copyOf(raw, raw.length - 4));
                if (x.kind() == Records.DATA && victims.contains(eng.segs.segmentOf(x.block()))) {
                    refs.add(new Ref(k, raw, x));
                }
                return true;
            });
            eng.step(PROTOCOL, 3);
            int[] dest = null;
            for (Ref r : refs) {
                int n = r.x.count();
                ByteBuffer buf = eng.io.allocate(n << Layout.BLOCK_SHIFT);
                eng.io.read(r.x.block() << Layout.BLOCK_SHIFT, buf);
                boolean ok = true;
                for (int i = 0; i < n; i++) {
                    if (Crc.page(buf, i << Layout.BLOCK_SHIFT) != r.x.crcs()[i]) {
                        log.error("store {}: cleaner leaves {} in place: page {} fails its CRC32C", eng.name, Keys.describe(r.key), i);
                        ok = false;
                        break;
                    }
                }
                if (!ok) {
                    continue;
                }
                if (dest == null || dest[2] + n > segBlocks) {
                    int s = eng.segs.acquire(true);
                    if (s < 0) {
                        break; // out of room: commit what was copied
                    }
                    dest = new int[] {s, eng.segs.used(s), eng.segs.used(s)};
                    dests.add(dest);
                    if (dest[2] + n > segBlocks) {
                        continue;
                    }
                }
                long block = eng.segs.block(dest[0], dest[2]);
                // Exactly the n blocks read: never clear(), whose limit is the capacity, which
                // may exceed what was asked for (see step 3 in the class comment).
                buf.position(0).limit(n << Layout.BLOCK_SHIFT);
                eng.io.write(block << Layout.BLOCK_SHIFT, buf);
                dest[2] += n;
                moved.add(r);
                newBlocks.add(block);
            }
            if (moved.isEmpty()) {
                return new Report(victims.size(), 0, 0);
            }
            if (eng.io.memoryCopy()) {
                for (int[] d : dests) {
                    eng.io.sync(eng.segs.block(d[0], d[1]) << Layout.BLOCK_SHIFT, (long) (d[2] - d[1]) << Layout.BLOCK_SHIFT);
                }
            } else {
                eng.io.sync();
            }
            long pages = 0;
            eng.commitLock.lock();
            try {
                eng.step(PROTOCOL, 4);
                try (WriteBatch b = new WriteBatch()) {
                    for (int i = 0; i < moved.size(); i++) {
                        Ref r = moved.get(i);
                        byte[] now = eng.meta.getRaw(r.key);
                        if (now == null || !Arrays.equals(now, r.raw)) {
                            continue;
                        }
                        long nb = newBlocks.get(i);
                        eng.meta.put(b, r.key, r.x.movedTo(nb).encode());
                        liveDelta.merge(eng.segs.segmentOf(r.x.block()), (long) -r.x.count(), Long::sum);
                        liveDelta.merge(eng.segs.segmentOf(nb), (long) r.x.count(), Long::sum);
                        pages += r.x.count();
                    }
                    Map<Integer, Integer> used = new HashMap<>();
                    for (int v : victims) {
                        used.put(v, eng.segs.used(v));
                    }
                    for (int[] d : dests) {
                        used.put(d[0], d[2]);
                    }
                    for (Map.Entry<Integer, Integer> u : used.entrySet()) {
                        long live = eng.segs.live(u.getKey()) + liveDelta.getOrDefault(u.getKey(), 0L);
                        eng.putSegment(b, u.getKey(), new Records.Segment(live, live == 0 ? 0 : u.getValue()));
                    }
                    eng.meta.write(b);
                }
                committed = true;
                eng.step(PROTOCOL, 5);
                Lock l = eng.lifecycle.writeLock();
                l.lock();
                try {
                    liveDelta.forEach(eng.segs::addLive);
                    for (int[] d : dests) {
                        eng.segs.release(d[0], d[2]);
                    }
                    dests.clear();
                    int freed = 0;
                    for (int v : victims) {
                        eng.segs.unhold(v);
                        if (eng.segs.state(v) == SegmentTable.State.FREE) {
                            freed++;
                        }
                    }
                    victims.clear();
                    eng.generation.incrementAndGet();
                    log.debug("store {}: cleaner moved {} pages, freed {} segments", eng.name, pages, freed);
                    return new Report(chosen.size(), pages, freed);
                } finally {
                    l.unlock();
                }
            } finally {
                eng.commitLock.unlock();
            }
        } finally {
            if (!committed) {
                for (int[] d : dests) {
                    eng.segs.release(d[0], d[1]);
                }
            }
            for (int v : victims) {
                eng.segs.unhold(v);
            }
        }
    }
}
