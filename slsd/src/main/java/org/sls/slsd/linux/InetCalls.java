package org.sls.slsd.linux;

import jnr.ffi.Pointer;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The native calls the TCP and UDP kinds of {@code org.sls.slsd.resources} make in slsd itself:
 * what one socket tells of itself ({@link #fromFd}), the host-wide inet sock_diag dump (counted,
 * {@link #dumps}), socket options (including TCP_REPAIR and its queue, sequence, option and window
 * calls), socket/bind/listen/connect, peeks and queue sizes. Sockets are handled as fds of
 * slsd (taken from a frozen process with pidfd_getfd, or made here and installed into a husk).
 * Failures throw {@link NativeException} naming the call and the socket. Stateless, thread-safe.
 */
public final class InetCalls {
    static final long SYS_SOCKET = 41, SYS_CONNECT = 42, SYS_SENDTO = 44, SYS_RECVFROM = 45, SYS_BIND = 49,
            SYS_LISTEN = 50, SYS_GETSOCKNAME = 51, SYS_GETPEERNAME = 52, SYS_SETSOCKOPT = 54, SYS_GETSOCKOPT = 55;
    public static final int AF_INET = 2, AF_INET6 = 10, SOCK_STREAM = 1, SOCK_DGRAM = 2, IPPROTO_TCP = 6,
            IPPROTO_UDP = 17, IPPROTO_IPV6 = 41, SOL_SOCKET = 1;
    public static final int SO_TYPE = 3, SO_PROTOCOL = 38, SO_DOMAIN = 39, SO_MEMINFO = 55, SO_NETNS_COOKIE = 71;
    public static final int SO_REUSEADDR = 2, SO_BROADCAST = 6, SO_SNDBUF = 7, SO_RCVBUF = 8, SO_KEEPALIVE = 9,
            SO_REUSEPORT = 15, SO_SNDBUFFORCE = 32, SO_RCVBUFFORCE = 33, IPV6_V6ONLY = 26;
    public static final int TCP_NODELAY = 1, TCP_MAXSEG = 2, TCP_KEEPIDLE = 4, TCP_KEEPINTVL = 5, TCP_KEEPCNT = 6,
            TCP_INFO = 11, TCP_REPAIR = 19, TCP_REPAIR_QUEUE = 20, TCP_QUEUE_SEQ = 21, TCP_REPAIR_OPTIONS = 22,
            TCP_TIMESTAMP = 24, TCP_REPAIR_WINDOW = 29;
    public static final int TCP_REPAIR_ON = 1, TCP_REPAIR_OFF = 0, TCP_REPAIR_OFF_NO_WP = -1, TCP_NO_QUEUE = 0,
            TCP_RECV_QUEUE = 1, TCP_SEND_QUEUE = 2;
    public static final int TCPOPT_MAXSEG = 2, TCPOPT_WINDOW = 3, TCPOPT_SACK_PERM = 4, TCPOPT_TIMESTAMP = 8;
    public static final int TCPI_OPT_TIMESTAMPS = 1, TCPI_OPT_SACK = 2, TCPI_OPT_WSCALE = 4;
    /** TCP states as the kernel numbers them (include/net/tcp_states.h). */
    public static final int TCP_ESTABLISHED = 1, TCP_SYN_SENT = 2, TCP_TIME_WAIT = 6, TCP_CLOSE = 7, TCP_CLOSE_WAIT = 8,
            TCP_LISTEN = 10, TCP_NEW_SYN_RECV = 12;
    static final long SIOCINQ = 0x541B, SIOCOUTQ = 0x5411, SIOCOUTQNSD = 0x894B;
    static final int MSG_PEEK = 2, MSG_DONTWAIT = 0x40, MSG_NOSIGNAL = 0x4000;
    static final int O_CLOEXEC = 02000000;

    /** How many host-wide dumps {@link #inetSockets} made since slsd started (for diagnostics and tests). */
    private static final AtomicLong DUMPS = new AtomicLong();
    private static final AtomicLong FACTS = new AtomicLong();

    private InetCalls() {}

    /**
     * One TCP or UDP socket as inet sock_diag tells it. Sockets no process holds yet (connections
     * waiting in a listener's accept queue) have inode 0.
     *
     * @param rqueue for a listener: connections waiting to be accepted; otherwise bytes to read;
     *               {@link #NOT_READ} for a TCP connection read without its queues (see {@link #fromFd})
     * @param wqueue for a listener: its backlog; otherwise bytes not yet acknowledged / sent; or {@link #NOT_READ}
     */
    public record InetSocket(long ino, int family, int protocol, int state, InetSocketAddress local,
                             InetSocketAddress remote, long rqueue, long wqueue) {}

    /** The queues of a TCP connection read without them (see {@link #fromFd(int, long, Facts, boolean, String)}). */
    public static final long NOT_READ = -1;

    /**
     * Every TCP and UDP socket (IPv4 and IPv6) of slsd's network namespace but TIME_WAIT and NEW_SYN_RECV ones.
     * Four sock_diag dumps that walk the kernel's whole socket hashes: milliseconds on a big host.
     */
    public static List<InetSocket> inetSockets() {
        DUMPS.incrementAndGet();
        List<InetSocket> out = new ArrayList<>();
        for (int family : new int[] {AF_INET, AF_INET6}) {
            for (int proto : new int[] {IPPROTO_TCP, IPPROTO_UDP}) {
                dump(family, proto, out);
            }
        }
        return out;
    }

    /** How many sockets' {@link Facts} were read in this JVM. */
    public static long factsRead() {
        return FACTS.get();
    }

    /** How many times {@link #inetSockets} ran in this JVM. */
    public static long dumps() {
        return DUMPS.get();
    }

    /** The network namespace cookie of slsd's own sockets, read once. */
    private static final class OwnNetns {
        static final long COOKIE = read();

        private static long read() {
            int s = socket(AF_INET, SOCK_DGRAM, "slsd's network namespace probe");
            try {
                return netnsCookie(s, "slsd's network namespace probe");
            } finally {
                Linux.close(s);
            }
        }
    }

    private static long netnsCookie(int fd, String what) {
        byte[] b = getBytes(fd, SOL_SOCKET, SO_NETNS_COOKIE, 8, what);
        return java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.nativeOrder()).getLong();
    }

    /**
     * The TCP or UDP socket behind slsd's fd {@code fd} (inode {@code ino}) as the socket itself tells
     * it, with the same figures {@link #inetSockets} gives where they can be read from the socket:
     * family, protocol (SO_DOMAIN, SO_PROTOCOL, SO_TYPE), local and remote address (getsockname,
     * getpeername; a socket with no peer has the family's any address and port 0, as in the dump),
     * TCP state (TCP_INFO). Queues: a listener's are TCP_INFO's {@code tcpi_unacked} (connections
     * waiting to be accepted) and {@code tcpi_sacked} (backlog), exactly sk_ack_backlog and
     * sk_max_ack_backlog as in the dump; a connection's SIOCINQ and SIOCOUTQ; a UDP socket's memory
     * charged to its receive and send buffers (SO_MEMINFO), which is the dump's figure whenever
     * nothing is queued. A UDP socket's state is ESTABLISHED when it has a peer, CLOSE otherwise.
     * Empty for any other socket, and for one of another network namespace than slsd's (which the
     * dump would not list either). Never walks the host's sockets.
     */
    public static Optional<InetSocket> fromFd(int fd, long ino, String what) {
        return fromFd(fd, ino, facts(fd, what), true, what);
    }

    /**
     * What a socket is for as long as it exists, whatever is done with it: its family, protocol and
     * type, and whether it lives in slsd's network namespace. A socket of another family has
     * protocol and type -1 (not read: such a socket is no inet one either way).
     */
    public record Facts(int family, int protocol, int type, boolean ownNetns) {
        /** Whether {@link #fromFd} describes such a socket: TCP or UDP over IPv4 or IPv6, in slsd's namespace. */
        public boolean inet() {
            return (family == AF_INET || family == AF_INET6) && ownNetns
                    && (protocol == IPPROTO_TCP && type == SOCK_STREAM || protocol == IPPROTO_UDP && type == SOCK_DGRAM);
        }
    }

    /** The {@link Facts} of the socket behind slsd's fd {@code fd}: SO_DOMAIN, then SO_PROTOCOL, SO_TYPE and SO_NETNS_COOKIE for an inet one. */
    public static Facts facts(int fd, String what) {
        FACTS.incrementAndGet();
        int family = getInt(fd, SOL_SOCKET, SO_DOMAIN, what);
        if (family != AF_INET && family != AF_INET6) {
            return new Facts(family, -1, -1, false);
        }
        return new Facts(family, getInt(fd, SOL_SOCKET, SO_PROTOCOL, what), getInt(fd, SOL_SOCKET, SO_TYPE, what),
                netnsCookie(fd, what) == OwnNetns.COOKIE);
    }

    /**
     * As {@link #fromFd(int, long, String)}, given the socket's {@link Facts} (read at an earlier
     * checkpoint: they never change), so that only what may have changed is read. Without
     * {@code connectionQueues} a TCP socket that is no listener has {@link #NOT_READ} queues, and
     * its SIOCINQ and SIOCOUTQ are spared: a checkpoint reads every connection of a server in the
     * frozen time, and saves the queues only of the connections it repairs, which it reads in
     * repair mode.
     */
    public static Optional<InetSocket> fromFd(int fd, long ino, Facts facts, boolean connectionQueues, String what) {
        if (!facts.inet()) {
            return Optional.empty();
        }
        int family = facts.family();
        int proto = facts.protocol();
        InetSocketAddress local = sockname(fd, what);
        InetSocketAddress remote = peerOrAny(fd, family, what);
        int state;
        long rq, wq;
        if (proto == IPPROTO_TCP) {
            byte[] info = getBytes(fd, IPPROTO_TCP, TCP_INFO, 32, what);
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(info).order(java.nio.ByteOrder.nativeOrder());
            state = info[0] & 0xff;
            if (state == TCP_LISTEN) {
                rq = b.getInt(24) & 0xffffffffL; // tcpi_unacked: sk_ack_backlog for a listener
                wq = b.getInt(28) & 0xffffffffL; // tcpi_sacked: sk_max_ack_backlog for a listener
            } else if (connectionQueues) {
                rq = inq(fd, what) & 0xffffffffL;
                wq = outq(fd, what) & 0xffffffffL;
            } else {
                rq = wq = NOT_READ;
            }
        } else {
            state = remote.getPort() != 0 ? TCP_ESTABLISHED : TCP_CLOSE;
            byte[] mem = getBytes(fd, SOL_SOCKET, SO_MEMINFO, 36, what);
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(mem).order(java.nio.ByteOrder.nativeOrder());
            rq = b.getInt(0) & 0xffffffffL; // SK_MEMINFO_RMEM_ALLOC
            wq = b.getInt(8) & 0xffffffffL; // SK_MEMINFO_WMEM_ALLOC
        }
        return Optional.of(new InetSocket(ino, family, proto, state, local, remote, rq, wq));
    }

    /** getpeername, or the any address of {@code family} with port 0 when the socket has no peer (ENOTCONN). */
    private static InetSocketAddress peerOrAny(int fd, int family, String what) {
        Pointer sa = ADDR.get();
        sa.putInt(ADDR_LEN, ADDR_LEN);
        long r = Sys.raw(SYS_GETPEERNAME, fd, sa.address(), sa.address() + ADDR_LEN, 0, 0, 0);
        if (r == -Errno.ENOTCONN) {
            return new InetSocketAddress(addr(new byte[family == AF_INET ? 4 : 16]), 0);
        }
        if (r < 0) {
            throw new NativeException("getpeername", (int) -r, what);
        }
        return fromSockaddr(sa);
    }

    private static void dump(int family, int proto, List<InetSocket> out) {
        int nl = (int) Sys.call("socket", "AF_NETLINK", SYS_SOCKET, 16, 3 | O_CLOEXEC, 4);
        try {
            Pointer req = Sys.alloc(16 + 56);
            req.putInt(0, 72);
            req.putShort(4, (short) 20); // SOCK_DIAG_BY_FAMILY
            req.putShort(6, (short) (0x1 | 0x300)); // NLM_F_REQUEST | NLM_F_DUMP
            req.putInt(8, 1);
            req.putByte(16, (byte) family);
            req.putByte(17, (byte) proto);
            // every state but the kernel's mini-sockets (TIME_WAIT, NEW_SYN_RECV): no process holds one and no
            // accept queue either, and a busy server's port has thousands of them
            req.putInt(20, ~((1 << TCP_TIME_WAIT) | (1 << TCP_NEW_SYN_RECV)));
            Sys.call("sendto", "inet sock_diag request", SYS_SENDTO, nl, req.address(), 72, 0, 0, 0);
            Sys.keep(req);
            int cap = Sys.NETLINK_BUFFER;
            Pointer buf = Sys.netlinkBuffer();
            while (true) {
                long n = Sys.call("recvfrom", "inet sock_diag answer", SYS_RECVFROM, nl, buf.address(), cap, 0, 0, 0);
                int off = 0;
                while (off + 16 <= n) {
                    int len = buf.getInt(off);
                    int type = buf.getShort(off + 4);
                    if (type == 3) { // NLMSG_DONE
                        return;
                    }
                    if (type == 2) { // NLMSG_ERROR
                        int err = -buf.getInt(off + 16);
                        if (err == Errno.ENOENT) {
                            return; // no such protocol module loaded: no sockets of it
                        }
                        throw new NativeException("sock_diag", err, "inet sockets family " + family + " proto " + proto);
                    }
                    int m = off + 16;
                    int fam = buf.getByte(m) & 0xff;
                    int state = buf.getByte(m + 1) & 0xff;
                    int sport = Short.toUnsignedInt(Short.reverseBytes(buf.getShort(m + 4)));
                    int dport = Short.toUnsignedInt(Short.reverseBytes(buf.getShort(m + 6)));
                    byte[] src = new byte[fam == AF_INET ? 4 : 16];
                    byte[] dst = new byte[src.length];
                    buf.get(m + 8, src, 0, src.length);
                    buf.get(m + 24, dst, 0, dst.length);
                    long rq = buf.getInt(m + 56) & 0xffffffffL;
                    long wq = buf.getInt(m + 60) & 0xffffffffL;
                    long ino = buf.getInt(m + 68) & 0xffffffffL;
                    out.add(new InetSocket(ino, fam, proto, state, new InetSocketAddress(addr(src), sport),
                            new InetSocketAddress(addr(dst), dport), rq, wq));
                    off += (len + 3) & ~3;
                }
            }
        } finally {
            Linux.close(nl);
        }
    }

    private static InetAddress addr(byte[] b) {
        try {
            return InetAddress.getByAddress(b); // a v4-mapped IPv6 address comes back as IPv4
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** An address in the sockaddr of {@code family} (an IPv4 address in an IPv6 socket is v4-mapped). */
    static byte[] sockaddr(int family, InetSocketAddress a) {
        byte[] ip = a.getAddress().getAddress();
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(family == AF_INET ? 16 : 28);
        b.order(java.nio.ByteOrder.LITTLE_ENDIAN).putShort((short) family);
        b.order(java.nio.ByteOrder.BIG_ENDIAN).putShort((short) a.getPort());
        if (family == AF_INET) {
            if (ip.length != 4) {
                throw new IllegalArgumentException("IPv6 address " + a + " for an IPv4 socket");
            }
            b.put(ip);
        } else {
            b.putInt(0);
            if (ip.length == 4) {
                b.put(new byte[10]).put((byte) 0xff).put((byte) 0xff).put(ip);
            } else {
                b.put(ip);
            }
        }
        return b.array();
    }

    public static int socket(int family, int type, String what) {
        return (int) Sys.call("socket", what, SYS_SOCKET, family, type | O_CLOEXEC, 0);
    }

    public static void bind(int fd, int family, InetSocketAddress a, String what) {
        byte[] sa = sockaddr(family, a);
        Pointer p = Sys.alloc(sa.length);
        p.put(0, sa, 0, sa.length);
        Sys.call("bind " + a, what, SYS_BIND, fd, p.address(), sa.length);
        Sys.keep(p);
    }

    public static void connect(int fd, int family, InetSocketAddress a, String what) {
        byte[] sa = sockaddr(family, a);
        Pointer p = Sys.alloc(sa.length);
        p.put(0, sa, 0, sa.length);
        Sys.call("connect " + a, what, SYS_CONNECT, fd, p.address(), sa.length);
        Sys.keep(p);
    }

    public static void listen(int fd, int backlog, String what) {
        Sys.call("listen", what, SYS_LISTEN, fd, backlog, 0);
    }

    /**
     * Per thread, room for one option value and its length: a checkpoint reads a dozen options of
     * every socket while the process is frozen, and a native allocation per call cost more than the
     * call. Used only by the leaf calls below, which call nothing else that uses it.
     */
    private static final ThreadLocal<Pointer> OPT = ThreadLocal.withInitial(() -> Sys.alloc(8));

    /** Room in {@link #ADDR} for a socket address (or a short option value), its length after it. */
    private static final int ADDR_LEN = 128;
    /**
     * Per thread, as {@link #OPT}, for getsockname, getpeername and options of up to
     * {@link #ADDR_LEN} bytes (TCP_INFO's first 32): each socket of a frozen process is asked all
     * three at every checkpoint. Used only by those leaf calls.
     */
    private static final ThreadLocal<Pointer> ADDR = ThreadLocal.withInitial(() -> Sys.alloc(ADDR_LEN + 4));

    public static int getInt(int fd, int level, int opt, String what) {
        Pointer v = OPT.get();
        v.putInt(4, 4);
        long r = Sys.raw(SYS_GETSOCKOPT, fd, level, opt, v.address(), v.address() + 4, 0);
        if (r < 0) {
            throw new NativeException("getsockopt(" + level + ", " + opt + ")", (int) -r, what);
        }
        return v.getInt(0);
    }

    public static void setInt(int fd, int level, int opt, int val, String what) {
        Pointer v = OPT.get();
        v.putInt(0, val);
        long r = Sys.raw(SYS_SETSOCKOPT, fd, level, opt, v.address(), 4, 0);
        if (r < 0) {
            throw new NativeException("setsockopt(" + level + ", " + opt + ", " + val + ")", (int) -r, what);
        }
    }

    public static byte[] getBytes(int fd, int level, int opt, int max, String what) {
        // the value, then its length (at ADDR_LEN in the per-thread buffer, after the value otherwise)
        int lenAt = max <= ADDR_LEN ? ADDR_LEN : max;
        Pointer v = max <= ADDR_LEN ? ADDR.get() : Sys.alloc(max + 4L);
        v.putInt(lenAt, max);
        long r = Sys.raw(SYS_GETSOCKOPT, fd, level, opt, v.address(), v.address() + lenAt, 0);
        if (r < 0) {
            throw new NativeException("getsockopt(" + level + ", " + opt + ")", (int) -r, what);
        }
        byte[] b = new byte[v.getInt(lenAt)];
        v.get(0, b, 0, b.length);
        return b;
    }

    public static void setBytes(int fd, int level, int opt, byte[] val, String what) {
        Pointer v = Sys.alloc(Math.max(1, val.length));
        v.put(0, val, 0, val.length);
        Sys.call("setsockopt(" + level + ", " + opt + ")", what, SYS_SETSOCKOPT, fd, level, opt, v.address(), val.length, 0);
        Sys.keep(v);
    }

    private static int ioctlInt(int fd, long req, String name, String what) {
        Pointer p = OPT.get();
        long r = Linux.ioctlRaw(fd, req, p.address());
        if (r < 0) {
            throw new NativeException("ioctl", (int) -r, name + " " + what);
        }
        return p.getInt(0);
    }

    /** Bytes waiting to be read. */
    public static int inq(int fd, String what) { return ioctlInt(fd, SIOCINQ, "SIOCINQ", what); }

    /** Bytes in the send queue, sent or not. */
    public static int outq(int fd, String what) { return ioctlInt(fd, SIOCOUTQ, "SIOCOUTQ", what); }

    /** Bytes in the send queue never sent. */
    public static int outqNotSent(int fd, String what) { return ioctlInt(fd, SIOCOUTQNSD, "SIOCOUTQNSD", what); }

    /** Exactly {@code len} bytes peeked from the socket (in repair mode: from the selected queue). */
    public static byte[] peek(int fd, int len, String what) {
        Pointer buf = Sys.alloc(len + 1L);
        long n = Sys.call("recv(MSG_PEEK)", what, SYS_RECVFROM, fd, buf.address(), len + 1L, MSG_PEEK | MSG_DONTWAIT, 0, 0);
        if (n != len) {
            throw new IllegalStateException(what + ": peeked " + n + " bytes of a queue of " + len);
        }
        byte[] b = new byte[len];
        buf.get(0, b, 0, len);
        return b;
    }

    /** Sends all of {@code data} without blocking (in repair mode: into the selected queue), in chunks. */
    public static void sendAll(int fd, byte[] data, String what) {
        int chunk = 64 << 10;
        Pointer p = Sys.alloc(Math.max(1, data.length));
        p.put(0, data, 0, data.length);
        long done = 0;
        while (done < data.length) {
            done += Sys.call("send", what, SYS_SENDTO, fd, p.address() + done, Math.min(chunk, data.length - done),
                    MSG_DONTWAIT | MSG_NOSIGNAL, 0, 0);
        }
        Sys.keep(p);
    }

    /** The address a socket is bound to (getsockname). */
    public static InetSocketAddress sockname(int fd, String what) {
        return name(SYS_GETSOCKNAME, fd, what);
    }

    /** The address a socket is connected to (getpeername). */
    public static InetSocketAddress peername(int fd, String what) {
        return name(SYS_GETPEERNAME, fd, what);
    }

    private static InetSocketAddress name(long nr, int fd, String what) {
        Pointer sa = ADDR.get();
        sa.putInt(ADDR_LEN, ADDR_LEN);
        long r = Sys.raw(nr, fd, sa.address(), sa.address() + ADDR_LEN, 0, 0, 0);
        if (r < 0) {
            throw new NativeException(nr == SYS_GETSOCKNAME ? "getsockname" : "getpeername", (int) -r, what);
        }
        return fromSockaddr(sa);
    }

    private static InetSocketAddress fromSockaddr(Pointer sa) {
        int family = sa.getShort(0);
        int port = Short.toUnsignedInt(Short.reverseBytes(sa.getShort(2)));
        byte[] ip = new byte[family == AF_INET ? 4 : 16];
        sa.get(family == AF_INET ? 4 : 8, ip, 0, ip.length);
        return new InetSocketAddress(addr(ip), port);
    }
}
