package org.sls.slsd.linux;

/**
 * A native array of {@code struct iovec} for process_vm_readv/writev. Arrays of {@link #IOV_MAX}
 * entries are kept for reuse ({@link #pooled}): a checkpoint takes a few, and mapping and unmapping
 * them each time cost its frozen window about a quarter of a millisecond on two cores (the unmap of
 * touched pages is a TLB shootdown). Not thread-safe; the pool is.
 */
public final class IoVecs implements AutoCloseable {
    /** The kernel's limit of iovecs per call. */
    public static final int IOV_MAX = 1024;
    private final NativeMemory mem;
    private final java.nio.ByteBuffer view;
    private final int capacity;
    private int count;
    private long bytes;
    /** Whether {@link #close} gives it back to the pool rather than unmapping it. */
    private final boolean pooled;
    /** Whether it is in the pool now (closed, not yet taken again). */
    private boolean idle;
    /** Whether it is unmapped: closed for good. */
    private boolean unmapped;

    /** Arrays of {@link #IOV_MAX} entries closed and not unmapped, at most {@link #POOL_MAX}. */
    private static final java.util.concurrent.ConcurrentLinkedDeque<IoVecs> POOL =
            new java.util.concurrent.ConcurrentLinkedDeque<>();
    private static final java.util.concurrent.atomic.AtomicInteger POOL_SIZE =
            new java.util.concurrent.atomic.AtomicInteger();
    /** 32 arrays of 16 KiB: what two checkpoints of a few GiB each take at once. */
    static final int POOL_MAX = 32;

    public IoVecs(int capacity) {
        this(capacity, false);
    }

    private IoVecs(int capacity, boolean pooled) {
        this.capacity = capacity;
        this.pooled = pooled;
        this.mem = NativeMemory.map((long) capacity * 16, false, false);
        this.view = mem.buffer(0, capacity * 16);
    }

    /** An empty array of {@link #IOV_MAX} entries, from the pool if one is there; {@link #close} gives it back. */
    public static IoVecs pooled() {
        IoVecs v = POOL.pollFirst();
        if (v == null) {
            return new IoVecs(IOV_MAX, true);
        }
        POOL_SIZE.decrementAndGet();
        v.idle = false;
        return v;
    }

    public boolean add(long address, long length) {
        if (count > 0) {
            long lastBase = view.getLong((count - 1) * 16);
            long lastLen = view.getLong((count - 1) * 16 + 8);
            if (lastBase + lastLen == address) {
                view.putLong((count - 1) * 16 + 8, lastLen + length);
                bytes += length;
                return true;
            }
        }
        if (count == capacity) {
            return false;
        }
        view.putLong(count * 16, address);
        view.putLong(count * 16 + 8, length);
        count++;
        bytes += length;
        return true;
    }

    public boolean full() { return count == capacity; }
    public int count() { return count; }
    public long bytes() { return bytes; }
    public long base(int i) { return view.getLong(i * 16); }
    public long length(int i) { return view.getLong(i * 16 + 8); }
    long address() { return mem.address(); }

    public void clear() {
        count = 0;
        bytes = 0;
    }

    /** Unmaps it, or for a {@link #pooled} one puts it back, empty, while the pool has room. Idempotent. */
    @Override
    public void close() {
        if (idle || unmapped) {
            return;
        }
        if (pooled && POOL_SIZE.incrementAndGet() <= POOL_MAX) {
            clear();
            idle = true;
            POOL.offerFirst(this);
            return;
        }
        if (pooled) {
            POOL_SIZE.decrementAndGet();
        }
        unmapped = true;
        mem.close();
    }
}
