package org.sls.slos;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.locks.Lock;
import org.rocksdb.WriteBatch;

/**
 * Deletes one epoch E. Its children read through it, so what they see of E must survive it.
 * Records are keyed by layer (see {@link Keys}), which gives two ways to do that:
 *
 * <ul>
 * <li><b>Merge down</b>, when E has exactly one child C and C stored no more pages than E (the
 *     common case: E the oldest, full image; C a small delta). C's extents, object records and
 *     touched keys are rewritten under E's layer; E's extents that C shadows (with a version or a
 *     hole of its own, or by a truncate or delete) are dropped, and those C shadows in part are
 *     cut to what stays visible; C's 'E' record takes E's layer and E's parent. Cost: C's records
 *     plus E's extents that C shadows, whatever E's size.</li>
 * <li><b>Fold up</b>, otherwise (several children, or E smaller than its child): every page
 *     version of E that a child does not shadow is copied to that child's layer, pointing at the
 *     same blocks, and E's records are deleted; each child is re-parented to E's parent. Cost:
 *     E's records plus the children's extents that overlap them.</li>
 * </ul>
 *
 * Either way the merged object record takes the child's existence and the smaller hide-from of
 * the two, the blobs of E go, and what nobody sees any more loses its reference: a segment whose
 * live count drops to zero is free. Steps, and what recovery does after a crash at each:
 *
 * <ol>
 * <li><b>Check</b>: under the engine's commit lock, refuse when a writer builds on E; choose the
 *     direction. <i>Crash:</i> nothing changed.</li>
 * <li><b>Compute</b>: read the records involved and build one RocksDB {@code WriteBatch} with
 *     every put and delete of 'L', 'O', 'T', 'B' and 'E' records and the new segment records.
 *     <i>Crash:</i> nothing changed on disk; E is wholly there.</li>
 * <li><b>Metadata batch</b>: under the lifecycle write lock (held through step 4, so no reader
 *     builds an index from half-old, half-new state), the batch is written with
 *     {@code sync=true}. <i>Crash before it is
 *     durable:</i> RocksDB's WAL recovery drops all of it: E and its child as they were.
 *     <i>After:</i> E is gone and wholly folded; its child reads the same pages as before.</li>
 * <li><b>Publish</b>: still under the lifecycle write lock, the in-memory epoch
 *     table and live counts take the new state and the generation moves, so readers rebuild
 *     their indexes. <i>Crash:</i> nothing changes on disk; open rebuilds the tables from the
 *     metadata written in step 3.</li>
 * </ol>
 *
 * Not thread-safe by itself: one instance per deletion; holds the engine's commit lock while it
 * works.
 */
final class EpochDeletion {
    static final String PROTOCOL = "delete";

    private final Engine eng;
    private final Map<Integer, Long> liveDelta = new HashMap<>();

    EpochDeletion(Engine eng) {
        this.eng = eng;
    }

    private record Ext(long start, Records.Extent x) {
        long end() {
            return start + x.count();
        }
    }

    /** Which way the deletion went (for tests and logs). */
    enum Direction { MERGE_DOWN, FOLD_UP }

    Direction delete(String partition, long epoch) {
        eng.commitLock.lock();
        try {
            eng.step(PROTOCOL, 1);
            Records.Epoch rec = eng.epochOf(partition, epoch);
            for (Map.Entry<Long, Long> w : eng.inflight.entrySet()) {
                if (w.getValue() == epoch) {
                    throw new StoreException(StoreException.Kind.INVALID, "store " + eng.name + ": epoch " + epoch + " of partition "
                            + partition + " cannot be deleted: epoch " + w.getKey() + " is being written on top of it");
                }
            }
            List<Long> children = eng.epochs.children(epoch);
            boolean down = children.size() == 1 && eng.epochs.get(children.get(0)).pages() <= rec.pages();
            eng.step(PROTOCOL, 2);
            Map<Long, Records.Epoch> newChildren = new HashMap<>();
            try (WriteBatch b = new WriteBatch()) {
                if (down) {
                    long c = children.get(0);
                    newChildren.put(c, mergeDown(b, epoch, rec, c, eng.epochs.get(c)));
                } else {
                    newChildren.putAll(foldUp(b, epoch, rec, children));
                }
                List<byte[]> blobs = new ArrayList<>();
                eng.meta.scanRaw(Keys.blobPrefix(epoch), (k, v) -> blobs.add(k));
                for (byte[] k : blobs) {
                    eng.meta.delete(b, k);
                }
                eng.meta.delete(b, Keys.epoch(epoch));
                newChildren.forEach((c, n) -> eng.meta.put(b, Keys.epoch(c), n.encode()));
                for (Map.Entry<Integer, Long> d : liveDelta.entrySet()) {
                    long live = eng.segs.live(d.getKey()) + d.getValue();
                    if (live < 0) {
                        throw new StoreException(StoreException.Kind.CORRUPT, "store " + eng.name + ": deleting epoch " + epoch
                                + " would leave segment " + d.getKey() + " with " + live + " live pages; run fsck");
                    }
                    eng.putSegment(b, d.getKey(), new Records.Segment(live, live == 0 ? 0 : eng.segs.used(d.getKey())));
                }
                eng.step(PROTOCOL, 3);
                // Readers are kept out from the batch to the publish: an index built in between
                // would pair the old ancestry with moved records (or object records read before
                // the batch with extents read after it).
                Lock l = eng.lifecycle.writeLock();
                l.lock();
                try {
                    eng.meta.write(b);
                    eng.step(PROTOCOL, 4);
                    eng.epochs.remove(epoch);
                    newChildren.forEach(eng.epochs::put);
                    liveDelta.forEach(eng.segs::addLive);
                    eng.generation.incrementAndGet();
                } finally {
                    l.unlock();
                }
            }
            return down ? Direction.MERGE_DOWN : Direction.FOLD_UP;
        } finally {
            eng.commitLock.unlock();
        }
    }

    private List<Long> touched(long layer) {
        List<Long> out = new ArrayList<>();
        eng.meta.scan(Keys.touchedPrefix(layer), (k, v) -> {
            out.add(Keys.long2(k));
            return true;
        });
        return out;
    }

    private List<Ext> extents(long obj, long layer) {
        List<Ext> out = new ArrayList<>();
        eng.meta.scan(Keys.extentPrefix(obj, layer), (k, v) -> {
            out.add(new Ext(Keys.extentStart(k), Records.Extent.decode(v)));
            return true;
        });
        return out;
    }

    /**
     * Adds to {@code into} the extents of {@code obj} in {@code layer} that overlap pages
     * {@code [from, to)}, keyed by first page; reads only those (and at most one before them).
     */
    private static void overlapping(MetaStore.Cursor cur, long obj, long layer, long from, long to, TreeMap<Long, Records.Extent> into) {
        cur.fromFloor(Keys.extent(obj, layer, from), (k, v) -> {
            long st = Keys.extentStart(k);
            if (st >= to) {
                return false;
            }
            Records.Extent x = Records.Extent.decode(v);
            if (st + x.count() > from) {
                into.put(st, x);
            }
            return true;
        });
    }

    private void dropReference(Records.Extent piece) {
        if (piece.kind() == Records.DATA) {
            liveDelta.merge(eng.segs.segmentOf(piece.block()), (long) -piece.count(), Long::sum);
        }
    }

    private void addReference(Records.Extent piece) {
        if (piece.kind() == Records.DATA) {
            liveDelta.merge(eng.segs.segmentOf(piece.block()), (long) piece.count(), Long::sum);
        }
    }

    /** Merges the records of child {@code c} into E's layer; returns c's new epoch record. */
    private Records.Epoch mergeDown(WriteBatch b, long epoch, Records.Epoch rec, long c, Records.Epoch cr) {
        long lE = rec.layer();
        long lC = cr.layer();
        long droppedPages = 0;
        for (long obj : touched(lC)) {
            Records.ObjectState rC = state(obj, lC);
            Records.ObjectState rE = state(obj, lE);
            long hideC = rC == null ? Long.MAX_VALUE : rC.hideFrom();
            List<Ext> mine = extents(obj, lC);
            // What C shadows of E: its own extents, and everything from its hide-from page on.
            // (C's versions beyond its hide-from are its own writes after a truncate: they stay.)
            TreeMap<Long, Long> cov = new TreeMap<>();
            for (Ext x : mine) {
                claim(cov, x.start, x.end());
            }
            if (hideC != Long.MAX_VALUE) {
                claim(cov, hideC, Long.MAX_VALUE);
            }
            TreeMap<Long, Records.Extent> hit = new TreeMap<>();
            try (MetaStore.Cursor cur = eng.meta.cursor(Keys.extentPrefix(obj, lE))) {
                for (Map.Entry<Long, Long> r : cov.entrySet()) {
                    overlapping(cur, obj, lE, r.getKey(), r.getValue(), hit);
                }
            }
            for (Map.Entry<Long, Records.Extent> h : hit.entrySet()) {
                long st = h.getKey();
                Records.Extent x = h.getValue();
                long end = st + x.count();
                boolean keptFirst = false;
                long p = st;
                while (p < end) {
                    Map.Entry<Long, Long> f = cov.floorEntry(p);
                    if (f != null && f.getValue() > p) {
                        long shadowEnd = Math.min(end, f.getValue());
                        Records.Extent gone = x.slice((int) (p - st), (int) (shadowEnd - p));
                        dropReference(gone);
                        if (gone.kind() == Records.DATA) {
                            droppedPages += gone.count();
                        }
                        p = shadowEnd;
                        continue;
                    }
                    Map.Entry<Long, Long> n = cov.higherEntry(p);
                    long keepEnd = n == null ? end : Math.min(end, n.getKey());
                    eng.meta.put(b, Keys.extent(obj, lE, p), x.slice((int) (p - st), (int) (keepEnd - p)).encode());
                    keptFirst |= p == st;
                    p = keepEnd;
                }
                if (!keptFirst) {
                    eng.meta.delete(b, Keys.extent(obj, lE, st));
                }
            }
            // C's own extents move to E's layer: same blocks, same number of references.
            for (Ext x : mine) {
                eng.meta.delete(b, Keys.extent(obj, lC, x.start));
                eng.meta.put(b, Keys.extent(obj, lE, x.start), x.x.encode());
            }
            Records.ObjectState merged;
            if (rC == null) {
                merged = rE == null ? new Records.ObjectState(true, Long.MAX_VALUE) : rE;
            } else {
                merged = new Records.ObjectState(rC.exists(), Math.min(rC.hideFrom(), rE == null ? Long.MAX_VALUE : rE.hideFrom()));
            }
            eng.meta.delete(b, Keys.object(obj, lC));
            eng.meta.put(b, Keys.object(obj, lE), merged.encode());
            eng.meta.delete(b, Keys.touched(lC, obj));
            eng.meta.put(b, Keys.touched(lE, obj), new byte[0]);
        }
        long pages = cr.pages() + rec.pages() - droppedPages;
        return new Records.Epoch(cr.partition(), rec.parent(), cr.committedMillis(), pages,
                cr.bytes() + rec.bytes() - droppedPages * Layout.PAGE_SIZE, lE);
    }

    /** Copies what each child still sees of E into the child's layer and deletes E's records. */
    private Map<Long, Records.Epoch> foldUp(WriteBatch b, long epoch, Records.Epoch rec, List<Long> children) {
        long lE = rec.layer();
        Map<Long, Long> addedPages = new HashMap<>();
        for (long obj : touched(lE)) {
            Records.ObjectState rE = state(obj, lE);
            List<Ext> mine = extents(obj, lE);
            for (long c : children) {
                long lC = eng.epochs.get(c).layer();
                Records.ObjectState rC = state(obj, lC);
                long hideC = rC == null ? Long.MAX_VALUE : rC.hideFrom();
                TreeMap<Long, Records.Extent> theirs = new TreeMap<>();
                try (MetaStore.Cursor cur = eng.meta.cursor(Keys.extentPrefix(obj, lC))) {
                    for (Ext x : mine) {
                        overlapping(cur, obj, lC, x.start, x.end(), theirs);
                    }
                }
                TreeMap<Long, Long> cov = new TreeMap<>();
                theirs.forEach((st, x) -> cov.put(st, st + x.count()));
                for (Ext x : mine) {
                    long end = Math.min(x.end(), hideC);
                    long cur = x.start;
                    while (cur < end) {
                        Map.Entry<Long, Long> f = cov.floorEntry(cur);
                        if (f != null && f.getValue() > cur) {
                            cur = f.getValue();
                            continue;
                        }
                        Map.Entry<Long, Long> n = cov.higherEntry(cur);
                        long pieceEnd = n == null ? end : Math.min(end, n.getKey());
                        Records.Extent piece = x.x.slice((int) (cur - x.start), (int) (pieceEnd - cur));
                        eng.meta.put(b, Keys.extent(obj, lC, cur), piece.encode());
                        addReference(piece);
                        if (piece.kind() == Records.DATA) {
                            addedPages.merge(c, (long) piece.count(), Long::sum);
                        }
                        cur = pieceEnd;
                    }
                }
                Records.ObjectState merged;
                if (rC == null) {
                    merged = rE == null ? new Records.ObjectState(true, Long.MAX_VALUE) : rE;
                } else {
                    merged = new Records.ObjectState(rC.exists(), Math.min(rC.hideFrom(), rE == null ? Long.MAX_VALUE : rE.hideFrom()));
                }
                eng.meta.put(b, Keys.object(obj, lC), merged.encode());
                eng.meta.put(b, Keys.touched(lC, obj), new byte[0]);
            }
            for (Ext x : mine) {
                eng.meta.delete(b, Keys.extent(obj, lE, x.start));
                dropReference(x.x);
            }
            eng.meta.delete(b, Keys.object(obj, lE));
            eng.meta.delete(b, Keys.touched(lE, obj));
        }
        Map<Long, Records.Epoch> out = new HashMap<>();
        for (long c : children) {
            Records.Epoch cr = eng.epochs.get(c);
            long add = addedPages.getOrDefault(c, 0L);
            out.put(c, new Records.Epoch(cr.partition(), rec.parent(), cr.committedMillis(), cr.pages() + add,
                    cr.bytes() + add * Layout.PAGE_SIZE, cr.layer()));
        }
        return out;
    }

    /** Adds {@code [s, e)} to a set of disjoint ranges (first page to end), merging what touches. */
    private static void claim(TreeMap<Long, Long> ranges, long s, long e) {
        Map.Entry<Long, Long> f = ranges.floorEntry(s);
        if (f != null && f.getValue() >= s) {
            s = f.getKey();
            e = Math.max(e, f.getValue());
        }
        Map.Entry<Long, Long> n;
        while ((n = ranges.ceilingEntry(s)) != null && n.getKey() <= e) {
            e = Math.max(e, n.getValue());
            ranges.remove(n.getKey());
        }
        ranges.put(s, e);
    }

    private Records.ObjectState state(long obj, long layer) {
        byte[] v = eng.meta.get(Keys.object(obj, layer));
        return v == null ? null : Records.ObjectState.decode(v);
    }
}
