package org.sls.slos;

import java.util.HashMap;
import java.util.Map;
import org.rocksdb.WriteBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The commit protocol: how an epoch written by a {@link SegmentEpochWriter} becomes durable and
 * visible, all at once or not at all. Steps, and what recovery does after a crash at each:
 *
 * <ol>
 * <li><b>Flush</b>: the writer's last buffered pages are appended to its segments (append-only,
 *     block-aligned; earlier buffers were written while the epoch was being filled).
 *     <i>Crash:</i> some pages of the epoch are on the device, nothing refers to them. On open
 *     the segment table is rebuilt from the 'S' records, whose write pointers and live counts
 *     do not include them, so that space is simply written over later. The epoch is absent.</li>
 * <li><b>Sync data</b>: fdatasync (block), or force of the written ranges (pmem).
 *     <i>Crash:</i> as in step 1.</li>
 * <li><b>Metadata batch</b>: one RocksDB {@code WriteBatch} written with {@code sync=true} holding
 *     every extent, object record and touched-object key of the epoch (keyed under its layer,
 *     which is its own number), its blobs, its epoch record,
 *     the new live counts and write pointers of its segments, and the epoch high-water mark.
 *     <i>Crash before it is durable:</i> RocksDB's WAL recovery drops the whole batch: the epoch
 *     is absent, as in step 1. <i>After:</i> the epoch is committed and complete, since its
 *     data was synced in step 2.</li>
 * <li><b>Publish</b>: the in-memory epoch and segment tables take the new state; readers see the
 *     epoch. <i>Crash:</i> nothing on disk changes in this step; open rebuilds the tables from
 *     the metadata, with the epoch.</li>
 * <li><b>Superblock</b>: the other superblock copy is written with the last committed epoch and
 *     the next generation, and synced. <i>Crash:</i> that copy may be torn; open takes the valid
 *     copy with the highest generation and, since its last epoch lags the metadata, rewrites it.</li>
 * </ol>
 *
 * Steps 1-2 run in the writer's thread without locks; steps 3-5 hold the engine's commit lock,
 * so live counts are read and written by one commit (or deletion or cleaner pass) at a time.
 * Not thread-safe by itself: one instance per commit.
 */
final class EpochCommit {
    private static final Logger log = LoggerFactory.getLogger(EpochCommit.class);
    static final String PROTOCOL = "commit";

    private final Engine eng;

    EpochCommit(Engine eng) {
        this.eng = eng;
    }

    EpochInfo commit(SegmentEpochWriter w) {
        long pages = 0;
        Map<Integer, Long> liveDelta = new HashMap<>();
        try {
            eng.step(PROTOCOL, 1);
            w.flushAll();
            eng.step(PROTOCOL, 2);
            if (eng.io.memoryCopy()) {
                for (long[] r : w.written) {
                    eng.io.sync(r[0], r[1]);
                }
            } else if (!w.written.isEmpty()) {
                eng.io.sync();
            }
            for (SegmentEpochWriter.Pending p : w.objects.values()) {
                p.normalize();
                for (SegmentEpochWriter.Run r : p.runs) {
                    if (r.kind == Records.DATA) {
                        pages += r.count;
                        liveDelta.merge(r.seg, (long) r.count, Long::sum);
                    }
                }
            }
        } catch (StoreException e) {
            w.abandon(SegmentEpochWriter.State.FAILED);
            throw e;
        }
        long now = eng.clock.millis();
        // A new epoch's layer is its own number.
        Records.Epoch rec = new Records.Epoch(w.partition, w.parent, now, pages, pages * Layout.PAGE_SIZE, w.epoch);
        eng.commitLock.lock();
        try {
            eng.step(PROTOCOL, 3);
            if (w.parent != 0 && eng.epochs.get(w.parent) == null) {
                w.abandon(SegmentEpochWriter.State.FAILED);
                throw new StoreException(StoreException.Kind.NOT_FOUND, "store " + eng.name + ": epoch " + w.epoch
                        + " cannot commit: its parent epoch " + w.parent + " was deleted meanwhile");
            }
            try (WriteBatch b = new WriteBatch()) {
                for (Map.Entry<Long, SegmentEpochWriter.Pending> e : w.objects.entrySet()) {
                    long obj = e.getKey();
                    SegmentEpochWriter.Pending p = e.getValue();
                    eng.meta.put(b, Keys.touched(w.epoch, obj), new byte[0]);
                    eng.meta.put(b, Keys.object(obj, w.epoch), new Records.ObjectState(p.exists, p.hideFrom).encode());
                    for (SegmentEpochWriter.Run r : p.runs) {
                        eng.meta.put(b, Keys.extent(obj, w.epoch, r.start), r.extent().encode());
                    }
                }
                for (Map.Entry<String, byte[]> e : w.blobs.entrySet()) {
                    eng.meta.put(b, Keys.blob(w.epoch, e.getKey()), e.getValue());
                }
                eng.meta.put(b, Keys.epoch(w.epoch), rec.encode());
                for (SegmentEpochWriter.Held h : w.held) {
                    long live = eng.segs.live(h.seg) + liveDelta.getOrDefault(h.seg, 0L);
                    eng.putSegment(b, h.seg, new Records.Segment(live, live == 0 ? 0 : h.end));
                }
                long hw = Math.max(w.epoch, eng.epochs.max());
                eng.meta.put(b, Keys.meta("epochs"), Records.encodeLong(hw));
                eng.meta.write(b);
            } catch (StoreException e) {
                w.abandon(SegmentEpochWriter.State.FAILED);
                throw e;
            }
            eng.step(PROTOCOL, 4);
            eng.epochs.put(w.epoch, rec);
            for (SegmentEpochWriter.Held h : w.held) {
                eng.segs.setUsed(h.seg, h.end);
                eng.segs.addLive(h.seg, liveDelta.getOrDefault(h.seg, 0L));
                eng.segs.release(h.seg, h.end);
            }
            w.held.clear();
            w.state = SegmentEpochWriter.State.COMMITTED;
            eng.inflight.remove(w.epoch);
            eng.step(PROTOCOL, 5);
            try {
                eng.writeSuperblock(eng.epochs.max());
            } catch (StoreException e) {
                // The epoch is committed (step 3); the superblock is reconciled at the next open.
                log.error("store {}: epoch {} committed but the superblock update failed: {}", eng.name, w.epoch, e.getMessage());
            }
        } finally {
            eng.commitLock.unlock();
        }
        return rec.info(w.epoch);
    }
}
