package org.sls.slsd.linux;

import jnr.ffi.Pointer;

import static org.sls.slsd.linux.LinuxSyscalls.*;

/**
 * A userfaultfd held by slsd (created in a target by injection and fetched with pidfd_getfd):
 * UFFDIO_API, UFFDIO_REGISTER in write-protect mode, UFFDIO_WRITEPROTECT. The ioctls act on the
 * target's address space. Not thread-safe; close to unregister everything.
 */
public final class Userfaultfd implements AutoCloseable {
    /** Flags for creating one: O_CLOEXEC | O_NONBLOCK, plus UFFD_USER_MODE_ONLY for non-root targets. */
    public static final long CREATE_FLAGS = O_CLOEXEC | O_NONBLOCK;
    public static final long USER_MODE_ONLY = UFFD_USER_MODE_ONLY;
    public static final long FEATURES_WP_ASYNC = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
    private final int fd;
    private final String owner;
    private final Pointer mem = Sys.alloc(64);
    private boolean closed;

    public Userfaultfd(int fd, String owner) {
        this.fd = fd;
        this.owner = owner;
    }

    public int fd() { return fd; }

    /** userfaultfd(2) in slsd itself (used by the probe). */
    public static Userfaultfd createLocal(long flags) {
        int fd = (int) Sys.call("userfaultfd", flags, SYS_USERFAULTFD, flags, 0, 0);
        return new Userfaultfd(fd, "slsd");
    }

    public static int syscallNumber() { return (int) SYS_USERFAULTFD; }

    /** UFFDIO_API handshake asking for {@code features}; returns the features granted. */
    public long api(long features) {
        mem.putLong(0, UFFD_API);
        mem.putLong(8, features);
        mem.putLong(16, 0);
        Linux.ioctl(fd, UFFDIO_API, mem.address(), "UFFDIO_API, " + owner);
        return mem.getLong(8);
    }

    public void registerWriteProtect(long start, long len) {
        mem.putLong(0, start);
        mem.putLong(8, len);
        mem.putLong(16, UFFDIO_REGISTER_MODE_WP);
        mem.putLong(24, 0);
        Linux.ioctl(fd, UFFDIO_REGISTER, mem.address(),
                "UFFDIO_REGISTER, " + owner + " " + Long.toHexString(start) + "+" + Long.toHexString(len));
    }

    /** Registration returning -errno instead of throwing. */
    public long tryRegisterWriteProtect(long start, long len) {
        mem.putLong(0, start);
        mem.putLong(8, len);
        mem.putLong(16, UFFDIO_REGISTER_MODE_WP);
        mem.putLong(24, 0);
        return Linux.ioctlRaw(fd, UFFDIO_REGISTER, mem.address());
    }

    public void unregister(long start, long len) {
        mem.putLong(0, start);
        mem.putLong(8, len);
        Linux.ioctlRaw(fd, UFFDIO_UNREGISTER, mem.address());
    }

    public void writeProtect(long start, long len, boolean protect) {
        mem.putLong(0, start);
        mem.putLong(8, len);
        mem.putLong(16, protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0);
        Linux.ioctl(fd, UFFDIO_WRITEPROTECT, mem.address(),
                "UFFDIO_WRITEPROTECT, " + owner + " " + Long.toHexString(start) + "+" + Long.toHexString(len));
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Linux.close(fd);
        }
    }
}
