package org.sls.slsd.linux;

import jnr.ffi.Pointer;

/**
 * The native calls the fd kinds of {@code org.sls.slsd.resources} make in slsd itself: pipes and
 * their buffers (pipe2, tee, FIONREAD, F_GET/SETPIPE_SZ), eventfd, timerfd, signalfd, kcmp, and
 * plain read/write on such fds. Failures throw {@link NativeException} naming the call and the
 * thing. Stateless, thread-safe.
 */
public final class FdCalls {
    static final long SYS_FCNTL = 72, SYS_TEE = 276, SYS_PIPE2 = 293, SYS_EVENTFD2 = 290, SYS_TIMERFD_CREATE = 283,
            SYS_TIMERFD_SETTIME = 286, SYS_SIGNALFD4 = 289, SYS_KCMP = 312;
    public static final int F_GETFL = 3, F_SETFL = 4, F_SETPIPE_SZ = 1031, F_GETPIPE_SZ = 1032;
    public static final int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_ACCMODE = 3, O_NONBLOCK = 04000,
            O_CLOEXEC = 02000000, O_DIRECT = 040000;
    static final long FIONREAD = 0x541B, TFD_IOC_SET_TICKS = 0x40085400L;
    static final int SPLICE_F_NONBLOCK = 2, KCMP_FILE = 0;

    private FdCalls() {}

    /** A new pipe in slsd: {read end, write end}. */
    public static int[] pipe(int flags) {
        Pointer p = Sys.alloc(8);
        Sys.call("pipe2", "flags 0" + Integer.toOctalString(flags), SYS_PIPE2, p.address(), flags, 0);
        return new int[] {p.getInt(0), p.getInt(4)};
    }

    /** Bytes waiting in a pipe or socket. */
    public static int bytesQueued(int fd) {
        Pointer p = Sys.alloc(4);
        Linux.ioctl(fd, FIONREAD, p.address(), "FIONREAD on fd " + fd);
        return p.getInt(0);
    }

    public static int fcntl(int fd, int cmd, long arg, String what) {
        return (int) Sys.call("fcntl(" + cmd + ")", what, SYS_FCNTL, fd, cmd, arg);
    }

    /** Duplicates up to {@code len} bytes from the pipe {@code in} into the pipe {@code out} without consuming them. */
    public static long tee(int in, int out, long len, String what) {
        return Sys.call("tee", what, SYS_TEE, in, out, len, SPLICE_F_NONBLOCK, 0, 0);
    }

    /** Reads up to {@code max} bytes; an empty array at EOF or when nothing is there (EAGAIN). */
    public static byte[] read(int fd, int max, String what) {
        Pointer p = Sys.alloc(Math.max(1, max));
        long n = Sys.raw(LinuxSyscalls.SYS_READ, fd, p.address(), max, 0, 0, 0);
        if (n == -Errno.EAGAIN) {
            return new byte[0];
        }
        if (n < 0) {
            throw new NativeException("read", (int) -n, what);
        }
        byte[] b = new byte[(int) n];
        p.get(0, b, 0, b.length);
        return b;
    }

    /** Writes all of {@code data}. */
    public static void writeAll(int fd, byte[] data, String what) {
        Pointer p = Sys.alloc(Math.max(1, data.length));
        p.put(0, data, 0, data.length);
        long done = 0;
        while (done < data.length) {
            done += Sys.call("write", what, LinuxSyscalls.SYS_WRITE, fd, p.address() + done, data.length - done, 0, 0, 0);
        }
    }

    /** open(2) returning the fd (flags as given; no mode). */
    public static int open(String path, int flags) {
        return Linux.open(path, flags);
    }

    public static int eventfd(long initval, int flags) {
        return (int) Sys.call("eventfd2", "flags 0" + Integer.toOctalString(flags), SYS_EVENTFD2, initval, flags, 0);
    }

    /** A timerfd armed relative to now ({@code value} 0 leaves it disarmed), with its unread expirations. */
    public static int timerfd(int clock, int flags, long valueNs, long intervalNs, long ticks) {
        int fd = (int) Sys.call("timerfd_create", "clock " + clock, SYS_TIMERFD_CREATE, clock, flags, 0);
        try {
            if (ticks > 0) {
                Pointer t = Sys.alloc(8);
                t.putLong(0, ticks);
                Linux.ioctl(fd, TFD_IOC_SET_TICKS, t.address(), "TFD_IOC_SET_TICKS " + ticks);
            }
            if (valueNs != 0 || intervalNs != 0) {
                Pointer its = Sys.alloc(32);
                its.putLong(0, intervalNs / 1_000_000_000L);
                its.putLong(8, intervalNs % 1_000_000_000L);
                long v = valueNs == 0 && intervalNs != 0 ? 1 : valueNs; // armed but due now
                its.putLong(16, v / 1_000_000_000L);
                its.putLong(24, v % 1_000_000_000L);
                Sys.call("timerfd_settime", "clock " + clock, SYS_TIMERFD_SETTIME, fd, 0, its.address());
            }
            return fd;
        } catch (RuntimeException e) {
            Linux.close(fd);
            throw e;
        }
    }

    public static int signalfd(long mask, int flags) {
        Pointer m = Sys.alloc(8);
        m.putLong(0, mask);
        return (int) Sys.call("signalfd4", "mask " + Long.toHexString(mask), SYS_SIGNALFD4, -1, m.address(), 8, flags, 0, 0);
    }

    /** Whether fd {@code fd1} of {@code pid1} and fd {@code fd2} of {@code pid2} are the same open file description. */
    public static boolean sameFile(int pid1, int fd1, int pid2, int fd2) {
        long r = Sys.raw(SYS_KCMP, pid1, pid2, KCMP_FILE, fd1, fd2, 0);
        if (r < 0) {
            throw new NativeException("kcmp", (int) -r, "pid " + pid1 + " fd " + fd1 + ", pid " + pid2 + " fd " + fd2);
        }
        return r == 0;
    }
}
