package org.sls.slsd.resources;

import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.checkpoint.CheckpointException;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.linux.FdCalls;
import org.sls.slsd.linux.InetCalls;
import org.sls.slsd.linux.InetCalls.InetSocket;
import org.sls.slsd.linux.Linux;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntFunction;

/**
 * What the TCP and UDP kinds share: the per-checkpoint sock_diag table, addresses in fd details,
 * the socket options saved and set again, and slsd's own copy of a frozen process's socket.
 * Stateless, thread-safe.
 */
final class InetSockets {
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

    /** The partition-wide table: every inet socket by inode (inode 0: not accepted yet, all under 0 in {@link #all}). */
    static Map<Long, InetSocket> table(CaptureContext ctx) {
        return ctx.cached("inet.byIno", () -> {
            Map<Long, InetSocket> m = new HashMap<>();
            for (InetSocket s : all(ctx)) {
                if (s.ino() != 0) {
                    m.put(s.ino(), s);
                }
            }
            return m;
        });
    }

    static List<InetSocket> all(CaptureContext ctx) {
        return ctx.cached("inet.all", InetCalls::inetSockets);
    }

    static long ino(FdProbe p) {
        String l = p.link();
        return l.startsWith("socket:[") ? Long.parseLong(l.substring("socket:[".length(), l.length() - 1)) : -1;
    }

    static Optional<InetSocket> socket(FdProbe p, CaptureContext ctx, int protocol) {
        if (p.stdStream() || !p.link().startsWith("socket:[")) {
            return Optional.empty(); // std streams on a socket stay STD_SOCKET, as before
        }
        InetSocket s = table(ctx).get(ino(p));
        return s != null && s.protocol() == protocol ? Optional.of(s) : Optional.empty();
    }

    /** The socket in the partition whose local and remote addresses are {@code s}'s the other way round. */
    static Optional<InetSocket> peer(InetSocket s, CaptureContext ctx) {
        for (InetSocket o : all(ctx)) {
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
    static <T> T withCopy(FdProbe p, IntFunction<T> f) {
        return withCopy(p.pid(), p.fd(), f);
    }

    /** Runs {@code f} on slsd's own copy of fd {@code target} of the frozen process {@code pid}, closed afterwards. */
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
