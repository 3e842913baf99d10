package org.sls.slos;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.locks.Lock;
import org.rocksdb.WriteBatch;

/**
 * Deletes one epoch. Its children read through it, so before it goes its records are folded
 * into each child: every page version of the deleted epoch that the child does not shadow
 * (with a version or a hole of its own, or by a truncate or delete) is copied to the child's
 * epoch, pointing at the same blocks; its object records are merged into the child's (the
 * smaller hide-from wins, the child's existence wins); the child is re-parented to the
 * deleted epoch's parent. What no child sees any more loses its reference; a segment whose live
 * count drops to zero is free. Everything is one RocksDB batch with sync, so a crash leaves the
 * epoch either wholly there or wholly folded. Refused while a writer builds on the epoch.
 * Not thread-safe by itself: holds the engine's commit lock while it works.
 */
final class EpochDeletion {
    private final Engine eng;

    EpochDeletion(Engine eng) {
        this.eng = eng;
    }

    private record Ext(long start, Records.Extent x) {
        long end() {
            return start + x.count();
        }
    }

    void delete(String partition, long epoch) {
        eng.commitLock.lock();
        try {
            Records.Epoch rec = eng.epochOf(partition, epoch);
            for (Map.Entry<Long, Long> w : eng.inflight.entrySet()) {
                if (w.getValue() == epoch) {
                    throw new StoreException(StoreException.Kind.INVALID, "store " + eng.name + ": epoch " + epoch + " of partition "
                            + partition + " cannot be deleted: epoch " + w.getKey() + " is being written on top of it");
                }
            }
            List<Long> children = eng.epochs.children(epoch);
            Map<Integer, Long> liveDelta = new HashMap<>();
            Map<Long, Long> addedPages = new HashMap<>();
            List<Long> touched = new ArrayList<>();
            eng.meta.scan(Keys.touchedPrefix(epoch), (k, v) -> {
                touched.add(Keys.long2(k));
                return true;
            });
            try (WriteBatch b = new WriteBatch()) {
                for (long obj : touched) {
                    fold(b, obj, epoch, children, liveDelta, addedPages);
                    eng.meta.delete(b, Keys.touched(epoch, obj));
                }
                List<byte[]> blobs = new ArrayList<>();
                eng.meta.scanRaw(Keys.blobPrefix(epoch), (k, v) -> blobs.add(k));
                for (byte[] k : blobs) {
                    eng.meta.delete(b, k);
                }
                eng.meta.delete(b, Keys.epoch(epoch));
                Map<Long, Records.Epoch> newChildren = new HashMap<>();
                for (long c : children) {
                    Records.Epoch cr = eng.epochs.get(c);
                    long add = addedPages.getOrDefault(c, 0L);
                    Records.Epoch n = new Records.Epoch(cr.partition(), rec.parent(), cr.committedMillis(), cr.pages() + add,
                            cr.bytes() + add * Layout.PAGE_SIZE);
                    newChildren.put(c, n);
                    eng.meta.put(b, Keys.epoch(c), n.encode());
                }
                for (Map.Entry<Integer, Long> d : liveDelta.entrySet()) {
                    long live = eng.segs.live(d.getKey()) + d.getValue();
                    eng.putSegment(b, d.getKey(), new Records.Segment(live, live == 0 ? 0 : eng.segs.used(d.getKey())));
                }
                eng.meta.write(b);
                Lock l = eng.lifecycle.writeLock();
                l.lock();
                try {
                    eng.epochs.remove(epoch);
                    newChildren.forEach(eng.epochs::put);
                    liveDelta.forEach(eng.segs::addLive);
                    eng.generation.incrementAndGet();
                } finally {
                    l.unlock();
                }
            }
        } finally {
            eng.commitLock.unlock();
        }
    }

    private void fold(WriteBatch b, long obj, long epoch, List<Long> children, Map<Integer, Long> liveDelta, Map<Long, Long> addedPages) {
        Records.ObjectState rE = state(obj, epoch);
        List<Ext> mine = new ArrayList<>();
        Map<Long, TreeMap<Long, Long>> covered = new HashMap<>();
        for (long c : children) {
            covered.put(c, new TreeMap<>());
        }
        eng.meta.scan(Keys.extentPrefix(obj), (k, v) -> {
            long e = Keys.long3(k);
            if (e == epoch) {
                mine.add(new Ext(Keys.long2(k), Records.Extent.decode(v)));
            } else if (covered.containsKey(e)) {
                Records.Extent x = Records.Extent.decode(v);
                covered.get(e).put(Keys.long2(k), Keys.long2(k) + x.count());
            }
            return true;
        });
        for (long c : children) {
            Records.ObjectState rC = state(obj, c);
            long hideC = rC == null ? Long.MAX_VALUE : rC.hideFrom();
            TreeMap<Long, Long> cov = covered.get(c);
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
                    int off = (int) (cur - x.start);
                    int len = (int) (pieceEnd - cur);
                    Records.Extent piece = x.x.slice(off, len);
                    eng.meta.put(b, Keys.extent(obj, cur, c), piece.encode());
                    if (piece.kind() == Records.DATA) {
                        liveDelta.merge(eng.segs.segmentOf(piece.block()), (long) len, Long::sum);
                        addedPages.merge(c, (long) len, Long::sum);
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
            eng.meta.put(b, Keys.object(obj, c), merged.encode());
            eng.meta.put(b, Keys.touched(c, obj), new byte[0]);
        }
        for (Ext x : mine) {
            eng.meta.delete(b, Keys.extent(obj, x.start, epoch));
            if (x.x.kind() == Records.DATA) {
                liveDelta.merge(eng.segs.segmentOf(x.x.block()), (long) -x.x.count(), Long::sum);
            }
        }
        eng.meta.delete(b, Keys.object(obj, epoch));
    }

    private Records.ObjectState state(long obj, long epoch) {
        byte[] v = eng.meta.get(Keys.object(obj, epoch));
        return v == null ? null : Records.ObjectState.decode(v);
    }
}
