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
        Sys.keep(p);
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
                Sys.keep(t);
            }
            if (valueNs != 0 || intervalNs != 0) {
                Pointer its = Sys.alloc(32);
                its.putLong(0, intervalNs / 1_000_000_000L);
                its.putLong(8, intervalNs % 1_000_000_000L);
                long v = valueNs == 0 && intervalNs != 0 ? 1 : valueNs; // armed but due now
                its.putLong(16, v / 1_000_000_000L);
                its.putLong(24, v % 1_000_000_000L);
                Sys.call("timerfd_settime", "clock " + clock, SYS_TIMERFD_SETTIME, fd, 0, its.address());
                Sys.keep(its);
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
        int fd = (int) Sys.call("signalfd4", "mask " + Long.toHexString(mask), SYS_SIGNALFD4, -1, m.address(), 8, flags, 0, 0);
        Sys.keep(m);
        return fd;
    }

    /** Whether fd {@code fd1} of {@code pid1} and fd {@code fd2} of {@code pid2} are the same open file description. */
    public static boolean sameFile(int pid1, int fd1, int pid2, int fd2) {
        long r = Sys.raw(SYS_KCMP, pid1, pid2, KCMP_FILE, fd1, fd2, 0);
        if (r < 0) {
            throw new NativeException("kcmp", (int) -r, "pid " + pid1 + " fd " + fd1 + ", pid " + pid2 + " fd " + fd2);
        }
        return r == 0;
    }

    // ---- files whose content slsd saves (deleted files, memfd, POSIX shm) ----
    static final long SYS_LSEEK = 8, SYS_FTRUNCATE = 77, SYS_FCHMOD = 91, SYS_FCHOWN = 93, SYS_UNLINK = 87,
            SYS_MEMFD_CREATE = 319, SYS_OPEN = 2;
    public static final int O_CREAT = 0100, O_EXCL = 0200, O_TRUNC = 01000, O_TMPFILE = 020200000;
    public static final int MFD_CLOEXEC = 1, MFD_ALLOW_SEALING = 2;
    public static final int F_ADD_SEALS = 1033, F_GET_SEALS = 1034, F_SEAL_SEAL = 1;

    /** A memfd named {@code name} (shown as "/memfd:NAME (deleted)"). */
    public static int memfdCreate(String name, int flags) {
        Pointer n = Sys.cString(name);
        int fd = (int) Sys.call("memfd_create", name, SYS_MEMFD_CREATE, n.address(), flags, 0);
        Sys.keep(n);
        return fd;
    }

    /** open(2) with a mode (O_CREAT, O_TMPFILE). */
    public static int open(String path, int flags, int mode) {
        Pointer p = Sys.cString(path);
        int fd = (int) Sys.call("open", path, SYS_OPEN, p.address(), flags, mode);
        Sys.keep(p);
        return fd;
    }

    public static void ftruncate(int fd, long size, String what) {
        Sys.call("ftruncate", what, SYS_FTRUNCATE, fd, size, 0);
    }

    public static void fchmod(int fd, int mode, String what) {
        Sys.call("fchmod", what, SYS_FCHMOD, fd, mode, 0);
    }

    public static void fchown(int fd, int uid, int gid, String what) {
        Sys.call("fchown", what, SYS_FCHOWN, fd, uid, gid);
    }

    public static void unlink(String path) {
        Pointer p = Sys.cString(path);
        Sys.call("unlink", path, SYS_UNLINK, p.address(), 0, 0);
        Sys.keep(p);
    }

    /** lseek(fd, offset, SEEK_SET). */
    public static void seek(int fd, long offset, String what) {
        Sys.call("lseek", what, SYS_LSEEK, fd, offset, 0);
    }

    // ---- inotify ----
    static final long SYS_INOTIFY_INIT1 = 294, SYS_INOTIFY_ADD_WATCH = 254, SYS_INOTIFY_RM_WATCH = 255,
            SYS_OPEN_BY_HANDLE_AT = 304;
    public static final int O_PATH = 010000000, O_DIRECTORY = 0200000;

    public static int inotifyInit(int flags) {
        return (int) Sys.call("inotify_init1", "flags 0" + Integer.toOctalString(flags), SYS_INOTIFY_INIT1, flags, 0, 0);
    }

    /** inotify_add_watch: the watch descriptor. */
    public static int inotifyAddWatch(int fd, String path, long mask) {
        Pointer p = Sys.cString(path);
        int wd = (int) Sys.call("inotify_add_watch", path + " mask 0x" + Long.toHexString(mask), SYS_INOTIFY_ADD_WATCH,
                fd, p.address(), mask);
        Sys.keep(p);
        return wd;
    }

    public static void inotifyRmWatch(int fd, int wd) {
        Sys.call("inotify_rm_watch", "wd " + wd, SYS_INOTIFY_RM_WATCH, fd, wd, 0);
    }

    /** open_by_handle_at(mountFd, {handle type, bytes}, flags): needs CAP_DAC_READ_SEARCH. */
    public static int openByHandle(int mountFd, int type, byte[] handle, int flags, String what) {
        Pointer h = Sys.alloc(8 + handle.length);
        h.putInt(0, handle.length);
        h.putInt(4, type);
        h.put(8, handle, 0, handle.length);
        int fd = (int) Sys.call("open_by_handle_at", what, SYS_OPEN_BY_HANDLE_AT, mountFd, h.address(), flags);
        Sys.keep(h);
        return fd;
    }

    // ---- sockets (unix) ----
    static final long SYS_SOCKET = 41, SYS_SENDTO = 44, SYS_RECVMSG = 47, SYS_SOCKETPAIR = 53, SYS_SETSOCKOPT = 54,
            SYS_RECVFROM = 45, SYS_GETSOCKOPT = 55;
    public static final int AF_UNIX = 1, SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_SEQPACKET = 5;
    static final int AF_NETLINK = 16, NETLINK_SOCK_DIAG = 4, SOCK_RAW = 3, SOCK_DIAG_BY_FAMILY = 20,
            NLMSG_DONE = 3, NLMSG_ERROR = 2, MSG_PEEK = 2, MSG_DONTWAIT = 0x40, SOL_SOCKET = 1, SO_PEEK_OFF = 42,
            SCM_RIGHTS = 1, SO_PEERCRED = 17;

    /**
     * The credentials of a unix socket's peer as the kernel recorded them when it connected
     * ({@code SO_PEERCRED}).
     *
     * @param pid the peer's process (thread group) id
     */
    public record PeerCredentials(int pid, int uid, int gid) {}

    /** {@code getsockopt(SO_PEERCRED)} on a connected unix socket of slsd. */
    public static PeerCredentials peerCredentials(int fd) {
        Pointer cred = Sys.alloc(12);
        Pointer len = Sys.alloc(4);
        len.putInt(0, 12);
        Sys.call("getsockopt(SO_PEERCRED)", "fd " + fd, SYS_GETSOCKOPT, fd, SOL_SOCKET, SO_PEERCRED, cred.address(),
                len.address(), 0);
        Sys.keep(len);
        return new PeerCredentials(cred.getInt(0), cred.getInt(4), cred.getInt(8));
    }

    /**
     * One unix socket as sock_diag tells it.
     *
     * @param name   bound name ("" when unbound; an abstract one starts with '@')
     * @param peer   the peer's inode, 0 when unconnected
     * @param rqueue bytes queued to read (for a listener: connections waiting to be accepted)
     * @param wqueue for a listener: its backlog
     */
    public record UnixSocket(long ino, int type, int state, String name, long peer, long rqueue, long wqueue) {}

    private static final java.util.concurrent.atomic.AtomicLong UNIX_DUMPS = new java.util.concurrent.atomic.AtomicLong();

    /** How many times {@link #unixSockets} dumped the host's unix sockets (for tests). */
    public static long unixDumps() {
        return UNIX_DUMPS.get();
    }

    /** Every unix socket of the host's network namespace, by inode (NETLINK_SOCK_DIAG dump). */
    public static java.util.Map<Long, UnixSocket> unixSockets() {
        UNIX_DUMPS.incrementAndGet();
        java.util.Map<Long, UnixSocket> out = new java.util.HashMap<>();
        int nl = (int) Sys.call("socket", "AF_NETLINK", SYS_SOCKET, AF_NETLINK, SOCK_RAW | O_CLOEXEC, NETLINK_SOCK_DIAG);
        try {
            Pointer req = Sys.alloc(16 + 24);
            req.putInt(0, 40);
            req.putShort(4, (short) SOCK_DIAG_BY_FAMILY);
            req.putShort(6, (short) (0x1 | 0x300)); // NLM_F_REQUEST | NLM_F_DUMP
            req.putInt(8, 1);
            req.putByte(16, (byte) AF_UNIX);
            req.putInt(20, -1); // every state
            req.putInt(28, 1 | 4 | 0x10); // UDIAG_SHOW_NAME | PEER | RQLEN
            Sys.call("sendto", "sock_diag request", SYS_SENDTO, nl, req.address(), 40, 0, 0, 0);
            Sys.keep(req);
            int cap = Sys.NETLINK_BUFFER;
            Pointer buf = Sys.netlinkBuffer();
            while (true) {
                long n = Sys.call("recvfrom", "sock_diag answer", SYS_RECVFROM, nl, buf.address(), cap, 0, 0, 0);
                int off = 0;
                while (off + 16 <= n) {
                    int len = buf.getInt(off);
                    int type = buf.getShort(off + 4);
                    if (type == NLMSG_DONE) {
                        return out;
                    }
                    if (type == NLMSG_ERROR) {
                        throw new NativeException("sock_diag", -buf.getInt(off + 16), "unix sockets");
                    }
                    int m = off + 16;
                    int stype = buf.getByte(m + 1) & 0xff;
                    int state = buf.getByte(m + 2) & 0xff;
                    long ino = buf.getInt(m + 4) & 0xffffffffL;
                    String name = "";
                    long peer = 0, rq = 0, wq = 0;
                    int a = m + 16;
                    while (a + 4 <= off + len) {
                        int alen = buf.getShort(a) & 0xffff;
                        int atype = buf.getShort(a + 2) & 0xffff;
                        if (alen < 4) {
                            break;
                        }
                        if (atype == 0) { // UNIX_DIAG_NAME
                            byte[] b = new byte[alen - 4];
                            buf.get(a + 4, b, 0, b.length);
                            int end = b.length;
                            if (b.length > 0 && b[0] != 0) {
                                while (end > 0 && b[end - 1] == 0) end--;
                                name = new String(b, 0, end, java.nio.charset.StandardCharsets.UTF_8);
                            } else if (b.length > 0) {
                                name = "@" + new String(b, 1, b.length - 1, java.nio.charset.StandardCharsets.ISO_8859_1);
                            }
                        } else if (atype == 2) { // UNIX_DIAG_PEER
                            peer = buf.getInt(a + 4) & 0xffffffffL;
                        } else if (atype == 4) { // UNIX_DIAG_RQLEN
                            rq = buf.getInt(a + 4) & 0xffffffffL;
                            wq = buf.getInt(a + 8) & 0xffffffffL;
                        }
                        a += (alen + 3) & ~3;
                    }
                    out.put(ino, new UnixSocket(ino, stype, state, name, peer, rq, wq));
                    off += (len + 3) & ~3;
                }
            }
        } finally {
            Linux.close(nl);
        }
    }

    /** A connected pair of unix sockets in slsd. */
    public static int[] socketpair(int type, int flags) {
        Pointer p = Sys.alloc(8);
        Sys.call("socketpair", "type " + type, SYS_SOCKETPAIR, AF_UNIX, type | flags, 0, p.address(), 0, 0);
        return new int[] {p.getInt(0), p.getInt(4)};
    }

    /** Sends one message (or stream chunk) on a connected socket. */
    public static void send(int fd, byte[] data, String what) {
        Pointer p = Sys.alloc(Math.max(1, data.length));
        p.put(0, data, 0, data.length);
        long done = 0;
        do {
            done += Sys.call("sendto", what, SYS_SENDTO, fd, p.address() + done, data.length - done, 0, 0, 0);
        } while (done < data.length);
        Sys.keep(p);
    }

    /**
     * The messages queued on a socket (for a stream: one chunk), peeked without consuming them
     * (SO_PEEK_OFF walks past each one and is set back to off). Throws when any carries fds
     * (SCM_RIGHTS): the fds it would have dup'ed into slsd are closed.
     */
    public static java.util.List<byte[]> peekAll(int fd, boolean stream, int max, String what) {
        java.util.List<byte[]> out = new java.util.ArrayList<>();
        Pointer off = Sys.alloc(4);
        off.putInt(0, 0);
        Sys.call("setsockopt(SO_PEEK_OFF)", what, SYS_SETSOCKOPT, fd, SOL_SOCKET, SO_PEEK_OFF, off.address(), 4, 0);
        try {
            int cap = Math.max(1, max);
            Pointer buf = Sys.alloc(cap);
            Pointer ctl = Sys.alloc(256);
            Pointer iov = Sys.alloc(16);
            Pointer msg = Sys.alloc(56);
            while (true) {
                iov.putLong(0, buf.address());
                iov.putLong(8, cap);
                for (int i = 0; i < 56; i += 8) msg.putLong(i, 0);
                msg.putLong(16, iov.address());
                msg.putLong(24, 1);
                msg.putLong(32, ctl.address());
                msg.putLong(40, 256);
                long n = Sys.raw(SYS_RECVMSG, fd, msg.address(), MSG_PEEK | MSG_DONTWAIT, 0, 0, 0);
                Sys.keep(iov);
                if (n == -Errno.EAGAIN) {
                    return out;
                }
                if (n < 0) {
                    throw new NativeException("recvmsg(MSG_PEEK)", (int) -n, what);
                }
                long ctlLen = msg.getLong(40);
                if (ctlLen >= 16 && ctl.getInt(12) == SCM_RIGHTS && ctl.getInt(8) == SOL_SOCKET) {
                    int cmsgLen = (int) ctl.getLong(0);
                    for (int i = 16; i + 4 <= cmsgLen; i += 4) Linux.close(ctl.getInt(i));
                    throw new IllegalStateException("fds in flight (SCM_RIGHTS)");
                }
                if (n == 0 && stream) {
                    return out;
                }
                byte[] b = new byte[(int) n];
                buf.get(0, b, 0, b.length);
                out.add(b);
                if (out.size() > 1_000_000) {
                    throw new IllegalStateException("more than a million queued messages");
                }
            }
        } finally {
            off.putInt(0, -1);
            Sys.raw(SYS_SETSOCKOPT, fd, SOL_SOCKET, SO_PEEK_OFF, off.address(), 4, 0);
            Sys.keep(off);
        }
    }
}
