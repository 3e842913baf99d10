package org.sls.slos;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * {@link EpochWriter} of an {@link Engine}: copies pages into a large aligned buffer and appends
 * it to the segments it holds (two buffers, so that one is written while the next fills),
 * coalescing consecutive pages into extents; {@link #commit()} hands over to {@link EpochCommit}.
 * Not thread-safe: one thread per writer.
 */
final class SegmentEpochWriter implements EpochWriter {
    enum State { OPEN, COMMITTED, ABORTED, FAILED }

    /** A run of pages of one object: data contiguous on disk within one segment, or a hole. */
    static final class Run {
        final long start;
        int count;
        final byte kind;
        final long block;
        final int seg;
        int[] crcs;

        Run(long start, byte kind, long block, int seg) {
            this.start = start;
            this.kind = kind;
            this.block = block;
            this.seg = seg;
            this.crcs = kind == Records.DATA ? new int[8] : null;
        }

        void add(int crc) {
            if (crcs != null) {
                if (count == crcs.length) {
                    crcs = java.util.Arrays.copyOf(crcs, Math.min(Layout.MAX_EXTENT_PAGES, count * 2));
                }
                crcs[count] = crc;
            }
            count++;
        }

        Records.Extent extent() {
            return new Records.Extent(kind, count, block, crcs == null ? null : java.util.Arrays.copyOf(crcs, count));
        }
    }

    /** What this epoch does to one object. */
    static final class Pending {
        boolean exists = true;
        long hideFrom = Long.MAX_VALUE;
        final ArrayList<Run> runs = new ArrayList<>();
        long maxEnd = Long.MIN_VALUE;
        boolean unordered;

        void add(long page, byte kind, long block, int seg, int crc) {
            Run last = runs.isEmpty() ? null : runs.get(runs.size() - 1);
            if (last != null && last.kind == kind && last.start + last.count == page && last.count < Layout.MAX_EXTENT_PAGES
                    && (kind == Records.HOLE || (last.seg == seg && last.block + last.count == block))) {
                last.add(crc);
            } else {
                if (page < maxEnd) {
                    unordered = true;
                }
                Run r = new Run(page, kind, block, seg);
                r.add(crc);
                runs.add(r);
            }
            maxEnd = Math.max(maxEnd, page + 1);
        }

        /** Drops pages at index >= n written so far in this epoch. */
        void cut(long n) {
            long end = Long.MIN_VALUE;
            for (Iterator<Run> it = runs.iterator(); it.hasNext(); ) {
                Run r = it.next();
                if (r.start >= n) {
                    it.remove();
                } else {
                    if (r.start + r.count > n) {
                        r.count = (int) (n - r.start);
                    }
                    end = Math.max(end, r.start + r.count);
                }
            }
            maxEnd = end;
        }

        /** Later writes of a page win over earlier ones: rebuild non-overlapping runs. */
        void normalize() {
            if (!unordered) {
                return;
            }
            TreeMap<Long, long[]> pages = new TreeMap<>();
            for (Run r : runs) {
                for (int i = 0; i < r.count; i++) {
                    pages.put(r.start + i, new long[] {r.kind, r.kind == Records.DATA ? r.block + i : 0, r.seg,
                            r.crcs == null ? 0 : r.crcs[i]});
                }
            }
            runs.clear();
            maxEnd = Long.MIN_VALUE;
            unordered = false;
            for (Map.Entry<Long, long[]> e : pages.entrySet()) {
                long[] v = e.getValue();
                add(e.getKey(), (byte) v[0], v[1], (int) v[2], (int) v[3]);
            }
        }
    }

    /** A segment held by this writer: where it started and where it ends now. */
    static final class Held {
        final int seg;
        final int startUsed;
        int end;

        Held(int seg, int startUsed) {
            this.seg = seg;
            this.startUsed = startUsed;
            this.end = startUsed;
        }
    }

    final Engine eng;
    final String partition;
    final long epoch;
    final long parent;
    final LinkedHashMap<Long, Pending> objects = new LinkedHashMap<>();
    final TreeMap<String, byte[]> blobs = new TreeMap<>();
    final List<Held> held = new ArrayList<>();
    /** Byte ranges written, for devices that sync by range (pmem). */
    final List<long[]> written = new ArrayList<>();
    private final int segBlocks;
    private final int bufBlocks;
    private ByteBuffer buf;
    private ByteBuffer spare;
    private CompletableFuture<Void> inFlight;
    private Held cur;
    private int wp;
    private int bufStart;
    State state = State.OPEN;
    /** Why the writer failed: repeated by later calls, so a commit after FULL still says FULL. */
    private StoreException failure;

    SegmentEpochWriter(Engine eng, String partition, long epoch, long parent) {
        this.eng = eng;
        this.partition = partition;
        this.epoch = epoch;
        this.parent = parent;
        this.segBlocks = eng.segs.segBlocks();
        this.bufBlocks = Math.min(Layout.MAX_WRITE_SIZE, eng.superblock().segmentSize()) >>> Layout.BLOCK_SHIFT;
    }

    @Override
    public long epoch() {
        return epoch;
    }

    private Pending pending(long objectId) {
        if (objectId < 0) {
            throw new StoreException(StoreException.Kind.INVALID, "store " + eng.name + ": epoch " + epoch + ": object id " + objectId + " is negative");
        }
        return objects.computeIfAbsent(objectId, k -> new Pending());
    }

    private void checkOpen() {
        if (state == State.FAILED && failure != null) {
            throw new StoreException(failure.kind(), failure.getMessage() + " (epoch " + epoch + " cannot go on)", failure);
        }
        if (state != State.OPEN) {
            throw new StoreException(StoreException.Kind.INVALID, "store " + eng.name + ": epoch " + epoch + " of partition "
                    + partition + " is " + state.name().toLowerCase() + ", no more writes");
        }
    }

    private void checkPage(long objectId, long pageIndex) {
        if (pageIndex < 0 || pageIndex > (Long.MAX_VALUE >>> Layout.BLOCK_SHIFT)) {
            throw new StoreException(StoreException.Kind.INVALID, "store " + eng.name + ": epoch " + epoch + ": object " + objectId
                    + " page index " + pageIndex + " out of range");
        }
    }

    @Override
    public void writePage(long objectId, long pageIndex, ByteBuffer page) {
        checkOpen();
        checkPage(objectId, pageIndex);
        if (page.remaining() < Layout.PAGE_SIZE) {
            throw new StoreException(StoreException.Kind.INVALID, "store " + eng.name + ": epoch " + epoch + ": object " + objectId
                    + " page " + pageIndex + ": buffer holds " + page.remaining() + " bytes, a page is " + Layout.PAGE_SIZE);
        }
        int crc = Crc.page(page, page.position());
        if (crc == Crc.ZERO_PAGE_CRC && Crc.isZero(page, page.position())) {
            writeHole(objectId, pageIndex);
            return;
        }
        Pending p = pending(objectId);
        try {
            ensureRoom();
        } catch (StoreException e) {
            state = State.FAILED;
            failure = e;
            throw e;
        }
        buf.put((wp - bufStart) << Layout.BLOCK_SHIFT, page, page.position(), Layout.PAGE_SIZE);
        long block = eng.segs.block(cur.seg, wp);
        wp++;
        p.exists = true;
        p.add(pageIndex, Records.DATA, block, cur.seg, crc);
    }

    @Override
    public void writeHole(long objectId, long pageIndex) {
        checkOpen();
        checkPage(objectId, pageIndex);
        Pending p = pending(objectId);
        p.exists = true;
        p.add(pageIndex, Records.HOLE, 0, -1, 0);
    }

    @Override
    public void truncate(long objectId, long pages) {
        checkOpen();
        if (pages < 0) {
            throw new StoreException(StoreException.Kind.INVALID, "store " + eng.name + ": epoch " + epoch + ": object " + objectId
                    + ": truncate to " + pages + " pages");
        }
        Pending p = pending(objectId);
        p.normalize();
        p.cut(pages);
        p.hideFrom = Math.min(p.hideFrom, pages);
        p.exists = true;
    }

    @Override
    public void deleteObject(long objectId) {
        checkOpen();
        Pending p = pending(objectId);
        p.runs.clear();
        p.maxEnd = Long.MIN_VALUE;
        p.unordered = false;
        p.hideFrom = 0;
        p.exists = false;
    }

    @Override
    public void putBlob(String blobName, byte[] data) {
        checkOpen();
        if (blobName == null || blobName.isEmpty() || blobName.length() > 1024) {
            throw new StoreException(StoreException.Kind.INVALID, "store " + eng.name + ": epoch " + epoch + ": bad blob name '" + blobName + "'");
        }
        blobs.put(blobName, data.clone());
    }

    private void ensureRoom() {
        if (cur == null || wp == segBlocks) {
            flush();
            nextSegment();
        } else if (wp - bufStart == bufBlocks) {
            flush();
        }
    }

    private void nextSegment() {
        if (cur != null) {
            cur.end = wp;
        }
        int s = eng.segs.acquire(false);
        if (s < 0) {
            waitInFlight();
            if (eng.cleanForSpace() > 0) {
                s = eng.segs.acquire(false);
            }
        }
        if (s < 0) {
            throw new StoreException(StoreException.Kind.FULL, "store full: " + eng.name + " has no free segment for epoch " + epoch
                    + " of partition " + partition + " (" + eng.segs.count() + " segments of " + eng.superblock().segmentSize()
                    + " bytes, " + Layout.CLEANER_RESERVE_SEGMENTS + " kept for the cleaner)");
        }
        cur = new Held(s, eng.segs.used(s));
        held.add(cur);
        wp = cur.startUsed;
        bufStart = wp;
        if (buf == null) {
            buf = eng.takeWriteBuffer(bufBlocks << Layout.BLOCK_SHIFT);
        }
    }

    /** Starts writing the filled part of the buffer; the other buffer takes new pages meanwhile. */
    private void flush() {
        if (cur == null) {
            return;
        }
        int n = wp - bufStart;
        cur.end = wp;
        if (n == 0) {
            return;
        }
        ByteBuffer out = buf.duplicate();
        out.position(0).limit(n << Layout.BLOCK_SHIFT);
        long off = eng.segs.block(cur.seg, bufStart) << Layout.BLOCK_SHIFT;
        written.add(new long[] {off, (long) n << Layout.BLOCK_SHIFT});
        waitInFlight();
        if (eng.io.memoryCopy()) {
            eng.io.write(off, out);
        } else {
            inFlight = CompletableFuture.runAsync(() -> eng.io.write(off, out), eng.ioExecutor());
            ByteBuffer t = spare == null ? eng.takeWriteBuffer(bufBlocks << Layout.BLOCK_SHIFT) : spare;
            spare = buf;
            buf = t;
        }
        bufStart = wp;
    }

    private void waitInFlight() {
        if (inFlight == null) {
            return;
        }
        CompletableFuture<Void> f = inFlight;
        try {
            f.get();
            inFlight = null;
        } catch (ExecutionException e) {
            inFlight = null;
            state = State.FAILED;
            failure = e.getCause() instanceof StoreException se ? se
                    : new StoreException(StoreException.Kind.IO, "store " + eng.name + ": epoch " + epoch + ": write failed: " + e.getCause(), e.getCause());
            throw failure;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            state = State.FAILED;
            throw new StoreException(StoreException.Kind.IO, "store " + eng.name + ": epoch " + epoch + ": interrupted while writing", e);
        }
    }

    /** Commit step 1: every buffered page written out; the buffers go back to the engine. */
    void flushAll() {
        flush();
        waitInFlight();
        releaseBuffers();
    }

    /** Hands the write buffers back to the engine, unless a write from one may still be running. */
    private void releaseBuffers() {
        if (inFlight != null) {
            return;
        }
        if (buf != null) {
            eng.giveWriteBuffer(buf);
            buf = null;
        }
        if (spare != null) {
            eng.giveWriteBuffer(spare);
            spare = null;
        }
    }

    @Override
    public EpochInfo commit() {
        checkOpen();
        return new EpochCommit(eng).commit(this);
    }

    /** Gives the held segments back, rewound: nothing this writer wrote is referenced. */
    void abandon(State s) {
        try {
            waitInFlight();
        } catch (StoreException e) {
            // aborting anyway: the data is not referenced
        }
        releaseBuffers();
        for (Held h : held) {
            eng.segs.release(h.seg, h.startUsed);
        }
        held.clear();
        eng.inflight.remove(epoch);
        state = s;
    }

    @Override
    public void close() {
        if (state == State.OPEN || state == State.FAILED) {
            abandon(State.ABORTED);
        }
    }
}
