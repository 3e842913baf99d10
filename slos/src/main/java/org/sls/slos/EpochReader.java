package org.sls.slos;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.Lock;

/**
 * {@link ObjectReader} of one epoch of an {@link Engine}. Builds an {@link ObjectIndex} per object
 * on first use and caches it until the engine's generation changes (the cleaner moved pages or an
 * epoch was deleted). Reads coalesce contiguous pages into one I/O and check every page's CRC32C.
 * Thread-safe.
 */
final class EpochReader implements ObjectReader {
    private final Engine eng;
    private final String partition;
    private final long epoch;
    private final ConcurrentHashMap<Long, ObjectIndex> cache = new ConcurrentHashMap<>();
    private volatile long generation;
    /** Layers of the epoch's ancestry, descending. */
    private volatile long[] ancestry;

    EpochReader(Engine eng, String partition, long epoch) {
        this.eng = eng;
        this.partition = partition;
        this.epoch = epoch;
        this.generation = eng.generation.get();
        this.ancestry = eng.epochs.layers(epoch);
    }

    @Override
    public long epoch() {
        return epoch;
    }

    /** The object's index; call with the engine's lifecycle read lock held. */
    private ObjectIndex index(long objectId) {
        long g = eng.generation.get();
        if (g != generation) {
            synchronized (this) {
                if (g != generation) {
                    eng.epochOf(partition, epoch);
                    cache.clear();
                    ancestry = eng.epochs.layers(epoch);
                    generation = g;
                }
            }
        }
        eng.checkOpen();
        return cache.computeIfAbsent(objectId, id -> ObjectIndex.build(eng.meta, id, ancestry));
    }

    @Override
    public boolean readPage(long objectId, long pageIndex, ByteBuffer dst) {
        return readPages(objectId, pageIndex, 1, dst) > 0;
    }

    @Override
    public int readPages(long objectId, long firstPage, int count, ByteBuffer dst) {
        if (dst.remaining() < (long) count * Layout.PAGE_SIZE) {
            throw new StoreException(StoreException.Kind.INVALID, "store " + eng.name + ": reading " + count
                    + " pages of object " + objectId + " into a buffer of " + dst.remaining() + " bytes");
        }
        Lock l = eng.lifecycle.readLock();
        l.lock();
        try {
            ObjectIndex ix = index(objectId);
            int found = 0;
            long p = firstPage;
            long end = firstPage + count;
            int base = dst.position();
            while (p < end) {
                int i = ix.find(p);
                if (i < 0) {
                    int ins = -i - 1;
                    long next = ins < ix.runs.length ? Math.min(end, ix.runs[ins].start()) : end;
                    zero(dst, base, p - firstPage, next - p);
                    p = next;
                    continue;
                }
                ObjectIndex.Run r = ix.runs[i];
                long runEnd = Math.min(end, r.start() + r.count());
                if (r.kind() != Records.DATA) {
                    zero(dst, base, p - firstPage, runEnd - p);
                } else {
                    int n = (int) (runEnd - p);
                    int off = (int) (p - r.start());
                    ByteBuffer slice = dst.duplicate();
                    int at = base + (int) ((p - firstPage) << Layout.BLOCK_SHIFT);
                    slice.position(at).limit(at + (n << Layout.BLOCK_SHIFT));
                    eng.io.read((r.block() + off) << Layout.BLOCK_SHIFT, slice);
                    for (int k = 0; k < n; k++) {
                        int got = Crc.page(dst, at + (k << Layout.BLOCK_SHIFT));
                        int want = r.crcs()[r.crcOffset() + off + k];
                        if (got != want) {
                            throw new StoreException(StoreException.Kind.CORRUPT, String.format(
                                    "store %s: object %d page %d epoch %d (layer %d): CRC32C mismatch (stored %08x, read %08x) at byte offset %d",
                                    eng.name, objectId, p + k, eng.epochs.ownerOf(r.layer()), r.layer(), want, got, (r.block() + off + k) << Layout.BLOCK_SHIFT));
                        }
                    }
                    found += n;
                }
                p = runEnd;
            }
            dst.position(base + count * Layout.PAGE_SIZE);
            return found;
        } finally {
            l.unlock();
        }
    }

    private static void zero(ByteBuffer dst, int base, long fromPage, long pages) {
        int at = base + (int) (fromPage << Layout.BLOCK_SHIFT);
        int len = (int) (pages << Layout.BLOCK_SHIFT);
        int i = 0;
        for (; i + 8 <= len; i += 8) {
            dst.putLong(at + i, 0L);
        }
        for (; i < len; i++) {
            dst.put(at + i, (byte) 0);
        }
    }

    @Override
    public long[] pages(long objectId) {
        Lock l = eng.lifecycle.readLock();
        l.lock();
        try {
            return index(objectId).dataPages();
        } finally {
            l.unlock();
        }
    }

    @Override
    public boolean exists(long objectId) {
        Lock l = eng.lifecycle.readLock();
        l.lock();
        try {
            return index(objectId).exists;
        } finally {
            l.unlock();
        }
    }
}
