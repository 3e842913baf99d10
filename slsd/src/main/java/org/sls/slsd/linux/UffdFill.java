package org.sls.slsd.linux;

import jnr.ffi.Pointer;

import static org.sls.slsd.linux.LinuxSyscalls.*;

/**
 * Another process's userfaultfd, held by slsd to fill that process's fresh anonymous memory with
 * UFFDIO_COPY: the kernel allocates each page and copies into it from slsd's buffer without
 * zeroing it first and without a page fault per page, which makes it faster than
 * process_vm_writev into untouched memory (CRIU's lazy-pages daemon fills memory the same way).
 * Regions are registered in MISSING mode with UFFD_FEATURE_SIGBUS, so that a stray access to a page
 * not filled yet fails instead of waiting for a fault handler nobody runs. Thread-safe for
 * {@link #copy} (several workers fill one process); register, unregister and close from one thread.
 */
public final class UffdFill implements AutoCloseable {
    private static final long UFFDIO_COPY = 0xC028AA03L;
    private static final long UFFDIO_REGISTER_MODE_MISSING = 1;
    private static final long UFFD_FEATURE_SIGBUS = 1L << 7;
    /** Flags for the userfaultfd(2) a husk is asked to create. */
    public static final long CREATE_FLAGS = O_CLOEXEC | O_NONBLOCK;
    public static final long SYS_USERFAULTFD = LinuxSyscalls.SYS_USERFAULTFD;
    private static final ThreadLocal<Pointer> ARGS = ThreadLocal.withInitial(() -> Sys.alloc(64));

    private final int fd;
    private final int pid;
    private boolean closed;

    private UffdFill(int fd, int pid) {
        this.fd = fd;
        this.pid = pid;
    }

    /**
     * Takes fd {@code targetFd} of process {@code pid} (a userfaultfd it created) into slsd and
     * completes the UFFDIO_API handshake. The process's own fd can then be closed.
     */
    public static UffdFill take(int pid, int targetFd) {
        int pidfd = Linux.pidfdOpen(pid);
        int fd;
        try {
            fd = Linux.pidfdGetfd(pidfd, targetFd);
        } finally {
            Linux.close(pidfd);
        }
        UffdFill u = new UffdFill(fd, pid);
        try {
            Pointer p = ARGS.get();
            p.putLong(0, UFFD_API);
            p.putLong(8, UFFD_FEATURE_SIGBUS);
            p.putLong(16, 0);
            Linux.ioctl(fd, UFFDIO_API, p.address(), "UFFDIO_API, userfaultfd of pid " + pid);
            return u;
        } catch (RuntimeException e) {
            u.close();
            throw e;
        }
    }

    /** Registers [start, start+len) of fresh anonymous memory for filling. */
    public void registerMissing(long start, long len) {
        Pointer p = ARGS.get();
        p.putLong(0, start);
        p.putLong(8, len);
        p.putLong(16, UFFDIO_REGISTER_MODE_MISSING);
        p.putLong(24, 0);
        Linux.ioctl(fd, UFFDIO_REGISTER, p.address(), "UFFDIO_REGISTER (missing), pid " + pid + " "
                + Long.toHexString(start) + "+" + Long.toHexString(len));
    }

    public void unregister(long start, long len) {
        Pointer p = ARGS.get();
        p.putLong(0, start);
        p.putLong(8, len);
        Linux.ioctl(fd, UFFDIO_UNREGISTER, p.address(), "UFFDIO_UNREGISTER, pid " + pid + " "
                + Long.toHexString(start) + "+" + Long.toHexString(len));
    }

    /** Fills [dst, dst+len) of the process with the bytes at slsd's address {@code src}. */
    public void copy(long dst, long src, long len) {
        Pointer p = ARGS.get();
        long done = 0;
        while (done < len) {
            p.putLong(0, dst + done);
            p.putLong(8, src + done);
            p.putLong(16, len - done);
            p.putLong(24, 0);
            p.putLong(32, 0);
            long r = Linux.ioctlRaw(fd, UFFDIO_COPY, p.address());
            long copied = p.getLong(32);
            if (r == 0) {
                return;
            }
            if (r == -Errno.EAGAIN && copied > 0) {
                done += copied; // the kernel stopped part-way (the mm changed): go on from there
                continue;
            }
            throw new NativeException("ioctl", (int) -r, "UFFDIO_COPY, pid " + pid + " " + Long.toHexString(dst + done)
                    + "+" + Long.toHexString(len - done));
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Linux.close(fd);
        }
    }
}
