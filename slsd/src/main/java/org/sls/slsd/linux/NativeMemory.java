package org.sls.slsd.linux;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * An off-heap region mapped into slsd with mmap (private anonymous), used for staging buffers and
 * native argument blocks. Not counted against the JVM's direct-memory limit. Not thread-safe:
 * one owner at a time; {@link #close()} unmaps it.
 */
public final class NativeMemory implements AutoCloseable {
    private final long address;
    private final long size;
    private boolean closed;

    private NativeMemory(long address, long size) {
        this.address = address;
        this.size = size;
    }

    /**
     * Maps {@code size} bytes (rounded up to pages). {@code populate} pre-faults them so that later
     * copies into them cost no page faults; {@code hugePages} asks for transparent huge pages.
     */
    public static NativeMemory map(long size, boolean populate, boolean hugePages) {
        long len = (size + 4095) & ~4095L;
        if (len == 0) {
            len = 4096;
        }
        long flags = LinuxSyscalls.MAP_PRIVATE | LinuxSyscalls.MAP_ANONYMOUS | LinuxSyscalls.MAP_NORESERVE;
        long addr = Sys.call("mmap", len, LinuxSyscalls.SYS_MMAP, 0, len,
                LinuxSyscalls.PROT_READ | LinuxSyscalls.PROT_WRITE, flags, -1, 0);
        if (hugePages) {
            Sys.raw(LinuxSyscalls.SYS_MADVISE, addr, len, LinuxSyscalls.MADV_HUGEPAGE, 0, 0, 0);
        }
        if (populate) {
            // MADV_POPULATE_WRITE (23): fault everything in now, outside any frozen window
            long r = Sys.raw(LinuxSyscalls.SYS_MADVISE, addr, len, 23, 0, 0, 0);
            if (r < 0) {
                ByteBuffer b;
                for (long off = 0; off < len; off += 4096) {
                    b = Sys.wrap(addr + off, 1);
                    b.put(0, (byte) 0);
                }
            }
        }
        return new NativeMemory(addr, len);
    }

    public long address() { return address; }
    public long size() { return size; }

    /** A little-endian direct view of [offset, offset+length). Valid until {@link #close()}. */
    public ByteBuffer buffer(long offset, int length) {
        if (offset < 0 || length < 0 || offset + length > size) {
            throw new IndexOutOfBoundsException(offset + "+" + length + " > " + size);
        }
        return Sys.wrap(address + offset, length).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Gives the pages back to the kernel (content becomes zero) but keeps the mapping. */
    public void discard() {
        Sys.raw(LinuxSyscalls.SYS_MADVISE, address, size, LinuxSyscalls.MADV_DONTNEED, 0, 0, 0);
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Sys.raw(LinuxSyscalls.SYS_MUNMAP, address, size, 0, 0, 0, 0);
        }
    }
}
