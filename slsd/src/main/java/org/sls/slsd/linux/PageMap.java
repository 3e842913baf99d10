package org.sls.slsd.linux;

import jnr.ffi.Pointer;

import static org.sls.slsd.linux.LinuxSyscalls.*;

/**
 * The PAGEMAP_SCAN ioctl on {@code /proc/PID/pagemap} (Linux 6.7+): finds pages by category
 * (present, written since write-protect, file-backed...) and can write-protect what it reports.
 * One instance per target process; not thread-safe.
 */
public final class PageMap implements AutoCloseable {
    public static final long PAGE_IS_WPALLOWED = 1, PAGE_IS_WRITTEN = 2, PAGE_IS_FILE = 4, PAGE_IS_PRESENT = 8,
            PAGE_IS_SWAPPED = 16, PAGE_IS_PFNZERO = 32, PAGE_IS_HUGE = 64, PAGE_IS_SOFT_DIRTY = 128;
    /** Scan flags. */
    public static final long WP_MATCHING = PM_SCAN_WP_MATCHING, CHECK_WPASYNC = PM_SCAN_CHECK_WPASYNC;
    private static final int ARG = 96;
    private static final int VEC = 8192;
    private final int pid;
    private final int fd;
    private final Pointer mem;

    /**
     * A closed scanner's buffer, for the next one opened on this thread: a checkpoint opens one per
     * process, and a fresh 200 KiB buffer each time costs page faults (and the garbage collector).
     */
    private static final ThreadLocal<Pointer> SPARE = new ThreadLocal<>();
    private boolean closed;

    private PageMap(int pid, int fd) {
        this.pid = pid;
        this.fd = fd;
        Pointer spare = SPARE.get();
        SPARE.remove();
        // the argument block is written in full before every scan, and the kernel fills the vector
        this.mem = spare != null ? spare : Sys.allocUncleared(ARG + VEC * 24L);
    }

    public static PageMap open(int pid) {
        return new PageMap(pid, Linux.open("/proc/" + pid + "/pagemap", O_RDONLY | O_CLOEXEC));
    }

    /**
     * Scans [start, end) and appends the matching pages to {@code out}. A page matches when
     * ({@code categories ^ inverted}) has every bit of {@code mask} set and, if {@code anyOf} is
     * non-zero, at least one bit of {@code anyOf}. Returns 0 or -errno (EPERM with
     * {@link #CHECK_WPASYNC} on a VMA not registered for async write-protect).
     */
    public long scan(long start, long end, long flags, long inverted, long mask, long anyOf, PageRanges out) {
        return scanRaw(start, end, flags, inverted, mask, anyOf, mask | anyOf | PAGE_IS_PRESENT, out);
    }

    private long scanRaw(long start, long end, long flags, long inverted, long mask, long anyOf, long returnMask,
                         PageRanges out) {
        return walk(start, end, flags, inverted, mask, anyOf, returnMask, (s, e, categories) -> out.add(s, e));
    }

    /**
     * The ioctl calls of one scan over [start, end): each run of pages is told to {@code sink}
     * once, in order (see {@link #next}). Returns 0 or -errno.
     */
    private long walk(long start, long end, long flags, long inverted, long mask, long anyOf, long returnMask,
                      RunSink sink) {
        long cur = start;
        long reported = start;
        while (cur < end) {
            mem.putLong(0, ARG);
            mem.putLong(8, flags);
            mem.putLong(16, cur);
            mem.putLong(24, end);
            mem.putLong(32, 0);
            mem.putLong(40, mem.address() + ARG);
            mem.putLong(48, VEC);
            mem.putLong(56, 0);
            mem.putLong(64, inverted);
            mem.putLong(72, mask);
            mem.putLong(80, anyOf);
            mem.putLong(88, returnMask);
            long n = Sys.raw(SYS_IOCTL, fd, PAGEMAP_SCAN, mem.address(), 0, 0, 0);
            if (n < 0) {
                return n;
            }
            for (int i = 0; i < n; i++) {
                long off = ARG + i * 24L;
                long s = Math.max(mem.getLong(off), reported);
                long e = mem.getLong(off + 8);
                if (e > s) { // not told already (see next)
                    sink.run(s, e, mem.getLong(off + 16));
                    reported = e;
                }
            }
            long next = next(cur, end, n);
            if (next < 0) {
                return 0;
            }
            cur = next;
        }
        return 0;
    }

    /**
     * Where the next call of a scan resumes, or -1 when the walk reached {@code end}: only a full
     * vector stops it early. Its walk_end is not trusted otherwise: when the walk filled the
     * kernel's own buffer (512 runs) and went on to the end, this kernel still reports where
     * that buffer filled, and a call from there would report the rest again (out of order, and
     * after PM_SCAN_WP_MATCHING with the pages protected meanwhile).
     */
    private long next(long cur, long end, long n) {
        if (n < VEC) {
            return -1;
        }
        long walkEnd = mem.getLong(32);
        if (walkEnd <= cur) {
            throw new IllegalStateException("PAGEMAP_SCAN made no progress at " + Long.toHexString(cur));
        }
        return walkEnd < end ? walkEnd : -1;
    }

    /** Pages whose category is WRITTEN, with the kernel's fast path (mask and return mask WRITTEN only). */
    public long scanWritten(long start, long end, long flags, PageRanges out) {
        return scanRaw(start, end, flags, 0, PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN, out);
    }

    /** Receives runs of pages with the same categories (as masked by the scan's return mask). */
    @FunctionalInterface
    public interface RunSink {
        void run(long start, long end, long categories);
    }

    /**
     * One walk over [start, end) reporting every page (mapped or not) with its categories among
     * {@code returnMask}; with {@link #WP_MATCHING} the written pages are write-protected again.
     * Returns 0 or -errno (EPERM with {@link #CHECK_WPASYNC} on an unregistered VMA).
     */
    public long scanAll(long start, long end, long flags, long returnMask, RunSink sink) {
        return walk(start, end, flags, 0, 0, 0, returnMask, sink);
    }

    /** Like {@link #scan} but throws on failure. */
    public void scanOrThrow(long start, long end, long flags, long inverted, long mask, long anyOf, PageRanges out) {
        long r = scan(start, end, flags, inverted, mask, anyOf, out);
        if (r < 0) {
            throw new NativeException("ioctl", (int) -r, "PAGEMAP_SCAN, pid " + pid + " "
                    + Long.toHexString(start) + "-" + Long.toHexString(end));
        }
    }

    /**
     * Present (or swapped) pages of [start, end) read from the /proc/PID/pagemap file, for kernels
     * without PAGEMAP_SCAN; {@code excludeFile} drops pages of the page cache (bit 61).
     */
    public static void presentFromFile(int pid, long start, long end, boolean excludeFile, PageRanges out) {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(
                java.nio.file.Path.of("/proc/" + pid + "/pagemap"), java.nio.file.StandardOpenOption.READ)) {
            long pages = (end - start) >>> 12;
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate((int) Math.min(pages, 65536) * 8)
                    .order(java.nio.ByteOrder.LITTLE_ENDIAN);
            long page = 0;
            while (page < pages) {
                b.clear();
                b.limit((int) Math.min(pages - page, 65536) * 8);
                long pos = ((start >>> 12) + page) * 8;
                while (b.hasRemaining()) {
                    if (ch.read(b, pos + b.position()) <= 0) {
                        throw new java.io.IOException("short read");
                    }
                }
                b.flip();
                for (int i = 0; b.hasRemaining(); i++) {
                    long e = b.getLong();
                    boolean present = (e >>> 63 & 1) != 0 || (e >>> 62 & 1) != 0;
                    boolean file = (e >>> 61 & 1) != 0;
                    if (present && !(excludeFile && file)) {
                        long a = start + ((page + i) << 12);
                        out.add(a, a + 4096);
                    }
                }
                page += Math.min(pages - page, 65536);
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("/proc/" + pid + "/pagemap", e);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Linux.close(fd);
        if (SPARE.get() == null) {
            SPARE.set(mem);
        }
    }
}
