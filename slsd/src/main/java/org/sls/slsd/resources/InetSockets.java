package org.sls.slsd.resources;

import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.checkpoint.CheckpointException;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.linux.Errno;
import org.sls.slsd.linux.FdCalls;
import org.sls.slsd.linux.InetCalls;
import org.sls.slsd.linux.InetCalls.InetSocket;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.NativeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.function.IntFunction;

/**
 * What the TCP and UDP kinds share: each socket as it tells of itself (read once per checkpoint),
 * the partition's sockets where a connection's other end is looked for, the host-wide sock_diag
 * dump for the few cases only it answers, addresses in fd details, the socket options saved and
 * set again, and slsd's own copy of a frozen process's socket. Stateless, thread-safe (what it
 * remembers lives in the {@link CaptureContext}, which is not).
 */
final class InetSockets {
    private static final Logger log = LoggerFactory.getLogger(InetSockets.class);
    /** The options read back and set again, as {level, option, name}. */
    private static final Object[][] OPTIONS = {
            {InetCalls.SOL_SOCKET, InetCalls.SO_KEEPALIVE, "so_keepalive"},
            {InetCalls.SOL_SOCKET, InetCalls.SO_BROADCAST, "so_broadcast"},
            {InetCalls.IPPROTO_TCP, InetCalls.TCP_NODELAY, "tcp_nodelay"},
            {InetCalls.IPPROTO_TCP, InetCalls.TCP_KEEPIDLE, "tcp_keepidle"},
            {InetCalls.IPPROTO_TCP, InetCalls.TCP_KEEPINTVL, "tcp_keepintvl"},
            {InetCalls.IPPROTO_TCP, InetCalls.TCP_KEEPCNT, "tcp_keepcnt"},
    };

    private InetSockets() {}

    /**
     * The TCP or UDP socket behind fd {@code fd} (whose /proc link is {@code link}) of process
     * {@code pid}, or empty when it is none (or lives in another network namespace than slsd, as the
     * host-wide dump would have it): read once per checkpoint and socket from the socket itself
     * through slsd's copy of it, without walking the host's sockets, and without a TCP connection's
     * queues ({@link InetCalls#NOT_READ}). Where the socket cannot tell exactly what the dump would,
     * the dump's record is taken instead (see {@link #needsDump}).
     */
    static Optional<InetSocket> of(int pid, int fd, String link, CaptureContext ctx) {
        Optional<InetSocket> s = ctx.<Map<Long, Optional<InetSocket>>>cached("inet.byIno", HashMap::new).get(ino(link));
        if (s != null) {
            return s;
        }
        int kept = ctx.keptPidfd(pid);
        if (kept >= 0) {
            return of(kept, pid, fd, link, ctx);
        }
        int pidfd = Linux.pidfdOpen(pid);
        try {
            return of(pidfd, pid, fd, link, ctx);
        } finally {
            Linux.close(pidfd);
        }
    }

    /** {@link #of} with a pidfd of {@code pid} already open (one per process when reading all its sockets). */
    private static Optional<InetSocket> of(int pidfd, int pid, int fd, String link, CaptureContext ctx) {
        long ino = ino(link);
        Map<Long, Optional<InetSocket>> known = ctx.cached("inet.byIno", HashMap::new);
        Optional<InetSocket> s = known.get(ino);
        if (s == null) {
            s = read(pidfd, pid, fd, ino, link, ctx);
            known.put(ino, s);
        }
        return s;
    }

    private static Optional<InetSocket> read(int pidfd, int pid, int fd, long ino, String link, CaptureContext ctx) {
        // read once per socket and checkpoint (see of): the copy is made here, kept if the context keeps copies
        int copy = Linux.pidfdGetfd(pidfd, fd);
        Optional<InetSocket> own;
        try {
            String what = "pid " + pid + " fd " + fd + " (" + link + ")";
            // a connection's queues are not read: only a repaired one saves them, and reads them then
            own = InetCalls.fromFd(copy, ino, ctx.socketFacts(ino, () -> InetCalls.facts(copy, what)), false, what);
        } finally {
            if (!ctx.keepSocketCopy(pid, fd, copy)) {
                Linux.close(copy);
            }
        }
        if (own.isEmpty() || !needsDump(own.get())) {
            return own;
        }
        log.debug("pid {} fd {} ({}): {} in state {}, queues {}: taken from the host-wide dump", pid, fd, link,
                describe(own.get()), own.get().state(),
                own.get().rqueue() < 0 ? "not read" : own.get().rqueue() + "/" + own.get().wqueue());
        return Optional.ofNullable(dumped(ctx).get(ino));
    }

    /**
     * Whether the socket's own figures may differ from the dump's, which then decides: a TCP socket
     * in CLOSE is listed only while it holds a port (bound, or not yet released after a connection
     * ended), one in SYN_SENT has no peer for getpeername though the dump shows it, and a UDP
     * socket with datagrams queued counts their memory net of the kernel's forward deficit there.
     */
    private static boolean needsDump(InetSocket s) {
        if (s.protocol() == InetCalls.IPPROTO_TCP) {
            return s.state() == InetCalls.TCP_CLOSE || s.state() == InetCalls.TCP_SYN_SENT;
        }
        return s.rqueue() != 0;
    }

    /**
     * Every inet socket held by a process of the partition (std streams too), each once: where the
     * other end of a connection inside the partition is found.
     */
    static Collection<InetSocket> partition(CaptureContext ctx) {
        return ctx.cached("inet.partition", () -> {
            Map<Long, InetSocket> m = new LinkedHashMap<>();
            for (int pid : new TreeSet<>(ctx.pids())) {
                int pidfd = -1;
                boolean own = false;
                try {
                    for (Map.Entry<Integer, String> e : ctx.fdLinks(pid).entrySet()) {
                        if (!e.getValue().startsWith("socket:[")) {
                            continue;
                        }
                        if (pidfd < 0) {
                            pidfd = ctx.keptPidfd(pid);
                            own = pidfd < 0;
                            pidfd = own ? Linux.pidfdOpen(pid) : pidfd;
                        }
                        try {
                            of(pidfd, pid, e.getKey(), e.getValue(), ctx).ifPresent(s -> m.putIfAbsent(s.ino(), s));
                        } catch (NativeException x) {
                            if (x.errno() != Errno.EBADF) {
                                throw x;
                            }
                            // closed since /proc was read (a process that is not frozen): no peer any more
                        }
                    }
                } catch (NativeException x) {
                    if (x.errno() != Errno.ESRCH) {
                        throw x;
                    }
                    // exited since /proc was read (a process that is not frozen): it holds no peer
                } finally {
                    if (own) {
                        Linux.close(pidfd);
                    }
                }
            }
            return m.values();
        });
    }

    /** The host-wide sock_diag dump by inode (sockets not accepted yet, inode 0, left out), made at most once per checkpoint. */
    private static Map<Long, InetSocket> dumped(CaptureContext ctx) {
        return ctx.cached("inet.dumpByIno", () -> {
            Map<Long, InetSocket> m = new HashMap<>();
            for (InetSocket s : all(ctx)) {
                if (s.ino() != 0) {
                    m.put(s.ino(), s);
                }
            }
            return m;
        });
    }

    /**
     * Every inet socket of the host (the sock_diag dump, once per checkpoint): needed only to find
     * the connections waiting in a listener's accept queue, which no process holds yet.
     */
    static List<InetSocket> all(CaptureContext ctx) {
        return ctx.cached("inet.all", InetCalls::inetSockets);
    }

    static long ino(FdProbe p) {
        return ino(p.link());
    }

    private static long ino(String l) {
        return l.startsWith("socket:[") ? Long.parseLong(l.substring("socket:[".length(), l.length() - 1)) : -1;
    }

    static Optional<InetSocket> socket(FdProbe p, CaptureContext ctx, int protocol) {
        if (p.stdStream() || !p.link().startsWith("socket:[")) {
            return Optional.empty(); // std streams on a socket stay STD_SOCKET, as before
        }
        return of(p.pid(), p.fd(), p.link(), ctx).filter(s -> s.protocol() == protocol);
    }

    /**
     * The socket held in the partition whose local and remote addresses are {@code s}'s the other
     * way round. A connected TCP socket's addresses are unique on the host (the established hash),
     * so looking among the partition's sockets answers as looking among the host's would.
     */
    static Optional<InetSocket> peer(InetSocket s, CaptureContext ctx) {
        for (InetSocket o : partition(ctx)) {
            if (o.protocol() == s.protocol() && o.local().equals(s.remote()) && o.remote().equals(s.local())
                    && o.state() != InetCalls.TCP_LISTEN) {
                return Optional.of(o);
            }
        }
        return Optional.empty();
    }

    static boolean inPartition(InetSocket s, CaptureContext ctx) {
        return s.ino() != 0 && ctx.heldInPartition("socket:[" + s.ino() + "]");
    }

    static String describe(InetSocket s) {
        String proto = s.protocol() == InetCalls.IPPROTO_TCP ? "tcp" : "udp";
        String fam = s.family() == InetCalls.AF_INET6 ? "6" : "";
        return proto + fam + " " + show(s.local()) + (s.remote().getPort() == 0 ? "" : " -> " + show(s.remote()));
    }

    static String show(InetSocketAddress a) {
        String h = a.getAddress().getHostAddress();
        return (h.contains(":") ? "[" + h + "]" : h) + ":" + a.getPort();
    }

    static CheckpointException refuse(FdProbe p, InetSocket s, String why) {
        return new CheckpointException(CheckpointException.Kind.UNSUPPORTED_RESOURCE, "pid " + p.pid() + " fd " + p.fd()
                + " (" + p.link() + ", " + describe(s) + "): " + why + ": not supported");
    }

    static void putAddress(Map<String, String> d, String key, InetSocketAddress a) {
        d.put(key, a.getAddress().getHostAddress() + " " + a.getPort());
    }

    static InetSocketAddress address(FdImage fd, String key) {
        String v = fd.detail(key, "");
        int sp = v.lastIndexOf(' ');
        if (sp < 0) {
            throw new IllegalStateException("fd " + fd.fd() + " (" + fd.kind() + "): no " + key + " in the image");
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(v.substring(0, sp)), Integer.parseInt(v.substring(sp + 1)));
        } catch (UnknownHostException e) {
            throw new IllegalStateException("fd " + fd.fd() + ": bad address " + v, e);
        }
    }

    /** Runs {@code f} on slsd's own copy (same open file) of the frozen process's fd, closed afterwards. */
    static <T> T withCopy(FdProbe p, CaptureContext ctx, IntFunction<T> f) {
        int kept = ctx.socketCopy(p.pid(), p.fd());
        return kept >= 0 ? f.apply(kept) : withCopy(p.pid(), p.fd(), f);
    }

    /**
     * Runs {@code f} on slsd's own copy of fd {@code target} of the frozen process {@code pid}, closed
     * afterwards (the copy the context keeps, if any, with a context).
     */
    static <T> T withCopy(int pid, int target, IntFunction<T> f) {
        int pidfd = Linux.pidfdOpen(pid);
        int fd;
        try {
            fd = Linux.pidfdGetfd(pidfd, target);
        } finally {
            Linux.close(pidfd);
        }
        try {
            return f.apply(fd);
        } finally {
            Linux.close(fd);
        }
    }

    /** Saves the common options of slsd's copy {@code fd} into {@code d}. */
    static void captureOptions(int fd, InetSocket s, Map<String, String> d, String what) {
        d.put("family", Integer.toString(s.family()));
        d.put("so_reuseaddr", Integer.toString(InetCalls.getInt(fd, InetCalls.SOL_SOCKET, InetCalls.SO_REUSEADDR, what)));
        d.put("so_reuseport", Integer.toString(InetCalls.getInt(fd, InetCalls.SOL_SOCKET, InetCalls.SO_REUSEPORT, what)));
        d.put("so_rcvbuf", Integer.toString(InetCalls.getInt(fd, InetCalls.SOL_SOCKET, InetCalls.SO_RCVBUF, what)));
        d.put("so_sndbuf", Integer.toString(InetCalls.getInt(fd, InetCalls.SOL_SOCKET, InetCalls.SO_SNDBUF, what)));
        if (s.family() == InetCalls.AF_INET6) {
            d.put("ipv6_v6only", Integer.toString(InetCalls.getInt(fd, InetCalls.IPPROTO_IPV6, InetCalls.IPV6_V6ONLY, what)));
        }
        for (Object[] o : OPTIONS) {
            int level = (Integer) o[0];
            if (level == InetCalls.IPPROTO_TCP && s.protocol() != InetCalls.IPPROTO_TCP) {
                continue;
            }
            d.put((String) o[2], Integer.toString(InetCalls.getInt(fd, level, (Integer) o[1], what)));
        }
    }

    /** The options that must be in place before bind (v6only, SO_REUSEPORT). */
    static void optionsBeforeBind(int fd, FdImage img, String what) {
        if (img.details().containsKey("ipv6_v6only")) {
            InetCalls.setInt(fd, InetCalls.IPPROTO_IPV6, InetCalls.IPV6_V6ONLY, Integer.parseInt(img.detail("ipv6_v6only", "0")), what);
        }
        int reuseport = Integer.parseInt(img.detail("so_reuseport", "0"));
        if (reuseport != 0) {
            InetCalls.setInt(fd, InetCalls.SOL_SOCKET, InetCalls.SO_REUSEPORT, reuseport, what);
        }
    }

    /**
     * The other options, SO_REUSEADDR as saved. Buffer sizes are set only with {@code buffers} and
     * where they differ from a new socket's (so that the kernel's autotuning stays on where the
     * program never set them).
     */
    static void optionsAfter(int fd, FdImage img, int protocol, boolean buffers, String what) {
        InetCalls.setInt(fd, InetCalls.SOL_SOCKET, InetCalls.SO_REUSEADDR, Integer.parseInt(img.detail("so_reuseaddr", "0")), what);
        for (Object[] o : OPTIONS) {
            String v = img.detail((String) o[2], null);
            if (v != null) {
                InetCalls.setInt(fd, (Integer) o[0], (Integer) o[1], Integer.parseInt(v), what);
            }
        }
        if (buffers) {
            for (int[] b : new int[][] {{InetCalls.SO_RCVBUF, InetCalls.SO_RCVBUFFORCE}, {InetCalls.SO_SNDBUF, InetCalls.SO_SNDBUFFORCE}}) {
                int want = Integer.parseInt(img.detail(b[0] == InetCalls.SO_RCVBUF ? "so_rcvbuf" : "so_sndbuf", "0"));
                int now = InetCalls.getInt(fd, InetCalls.SOL_SOCKET, b[0], what);
                if (want > 0 && want != now) {
                    // the kernel doubles what it is given; FORCE goes past rmem_max/wmem_max as the program may have
                    InetCalls.setInt(fd, InetCalls.SOL_SOCKET, b[1], want / 2, what);
                }
            }
        }
        int fileFlags = img.flags() & ~FdCalls.O_CLOEXEC & ~FdCalls.O_ACCMODE;
        FdCalls.fcntl(fd, FdCalls.F_SETFL, fileFlags, what);
    }
}
