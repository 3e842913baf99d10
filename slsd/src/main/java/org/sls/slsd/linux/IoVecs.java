package org.sls.slsd.linux;

/**
 * A native array of {@code struct iovec} for process_vm_readv/writev. Not thread-safe.
 */
public final class IoVecs implements AutoCloseable {
    /** The kernel's limit of iovecs per call. */
    public static final int IOV_MAX = 1024;
    private final NativeMemory mem;
    private final java.nio.ByteBuffer view;
    private final int capacity;
    private int count;
    private long bytes;

    public IoVecs(int capacity) {
        this.capacity = capacity;
        this.mem = NativeMemory.map((long) capacity * 16, false, false);
        this.view = mem.buffer(0, capacity * 16);
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

    @Override
    public void close() {
        mem.close();
    }
}
