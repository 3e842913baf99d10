package org.sls.slsd.resources;

import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.checkpoint.CheckpointException;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.linux.FdCalls;
import org.sls.slsd.linux.FdCalls.UnixSocket;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.RestoreCalls;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Unix sockets (stream, datagram, seqpacket), as sock_diag describes them, in three roles:
 * <ul>
 * <li>{@code pair}: connected to a peer that the partition holds too (a socketpair, or both ends of
 * an accepted connection), with the messages queued on each end, peeked without consuming them.
 * Restore makes one socketpair in slsd, queues each end's messages again from the other end, and
 * installs the same open files into every holder. The ends lose their bound names (getsockname)
 * and the peer credentials are slsd's.</li>
 * <li>{@code listen}: a listening socket bound to a path or an abstract name, with no connection
 * waiting; restore binds a new one in the husk (unlinking the stale socket file) and listens with
 * the same backlog.</li>
 * <li>{@code alone}: unconnected, bound or not, with nothing queued; recreated in the husk.</li>
 * Listeners and lone sockets are made in the first husk that holds them and lent to the others.
 * </ul>
 * Refused, naming pid, fd and socket: a peer outside the partition, a datagram socket connected to
 * a socket that is not connected back, connections waiting to be accepted, datagrams queued on an
 * unconnected socket, and fds in flight (SCM_RIGHTS). Stateless, thread-safe.
 */
final class UnixSocketKind implements FdKind {
    private static final int TCP_LISTEN = 10;
    private static final int PEEK_MAX = 1 << 20;
    private static final long SYS_SOCKET = 41, SYS_BIND = 49, SYS_LISTEN = 50, SYS_UNLINK = 87, SYS_FCNTL = 72;

    @Override
    public FdImage.Kind kind() { return FdImage.Kind.UNIX_SOCKET; }

    private static long ino(FdProbe p) {
        String l = p.link();
        return Long.parseLong(l.substring("socket:[".length(), l.length() - 1));
    }

    @Override
    public boolean supports(FdProbe p, CaptureContext ctx) {
        if (!p.link().startsWith("socket:[")) {
            return false;
        }
        UnixSocket s = ctx.unixSocket(ino(p));
        // std streams on a socket to the outside stay STD_SOCKET (/dev/null at restore), as before
        return s != null && !(p.stdStream() && !(s.peer() != 0 && ctx.heldInPartition("socket:[" + s.peer() + "]")));
    }

    @Override
    public String identity(FdProbe p, CaptureContext ctx) {
        return "unix:" + ino(p);
    }

    private static CheckpointException refuse(FdProbe p, UnixSocket s, String why) {
        return new CheckpointException(CheckpointException.Kind.UNSUPPORTED_RESOURCE, "pid " + p.pid() + " fd " + p.fd()
                + " (" + p.link() + ", unix " + typeName(s.type()) + (s.name().isEmpty() ? "" : " " + s.name()) + "): "
                + why + ": not supported");
    }

    static String typeName(int type) {
        return switch (type) {
            case FdCalls.SOCK_STREAM -> "stream";
            case FdCalls.SOCK_DGRAM -> "dgram";
            case FdCalls.SOCK_SEQPACKET -> "seqpacket";
            default -> "type " + type;
        };
    }

    @Override
    public FdImage capture(FdProbe p, CaptureContext ctx) {
        UnixSocket s = ctx.unixSockets().get(ino(p));
        Map<String, String> d = new LinkedHashMap<>();
        d.put("type", Integer.toString(s.type()));
        d.put("name", s.name());
        if (s.state() == TCP_LISTEN) {
            if (s.rqueue() > 0) {
                throw refuse(p, s, s.rqueue() + " connection(s) waiting to be accepted");
            }
            d.put("role", "listen");
            d.put("backlog", Long.toString(s.wqueue()));
        } else if (s.peer() != 0) {
            UnixSocket peer = ctx.unixSockets().get(s.peer());
            if (!ctx.heldInPartition("socket:[" + s.peer() + "]")) {
                throw refuse(p, s, "connected to socket " + s.peer() + (peer == null || peer.name().isEmpty() ? ""
                        : " (" + peer.name() + ")") + " outside the partition");
            }
            if (peer == null || peer.peer() != s.ino()) {
                throw refuse(p, s, "connected to socket " + s.peer() + ", which is not connected back");
            }
            d.put("role", "pair");
            d.put("peer", Long.toString(s.peer()));
            if (ctx.firstOf(identity(p, ctx))) {
                d.put("queued", peek(p, s));
            }
        } else {
            if (s.rqueue() > 0) {
                throw refuse(p, s, s.rqueue() + " bytes queued on an unconnected socket");
            }
            d.put("role", "alone");
        }
        return new FdImage(p.fd(), kind(), p.link(), p.flags(), 0, p.mode(), identity(p, ctx), d);
    }

    /** The messages queued to be read on the socket, base64 each, comma-separated. */
    static String peek(FdProbe p, UnixSocket s) {
        int pidfd = Linux.pidfdOpen(p.pid());
        int fd;
        try {
            fd = Linux.pidfdGetfd(pidfd, p.fd());
        } finally {
            Linux.close(pidfd);
        }
        try {
            List<byte[]> msgs = FdCalls.peekAll(fd, s.type() == FdCalls.SOCK_STREAM, PEEK_MAX, "pid " + p.pid() + " fd " + p.fd());
            StringBuilder sb = new StringBuilder();
            for (byte[] m : msgs) {
                sb.append(sb.length() == 0 ? "" : ",").append(Base64.getEncoder().encodeToString(m));
            }
            return sb.toString();
        } catch (IllegalStateException e) {
            throw refuse(p, s, e.getMessage());
        } finally {
            Linux.close(fd);
        }
    }

    static List<byte[]> messages(String queued) {
        List<byte[]> out = new ArrayList<>();
        if (queued == null || queued.isEmpty()) {
            return out;
        }
        for (String m : queued.split(",", -1)) {
            out.add(Base64.getDecoder().decode(m));
        }
        return out;
    }

    @Override
    public Outcome restore(FdImage fd, RestoreContext ctx) {
        int type = Integer.parseInt(fd.detail("type", "1"));
        String role = fd.detail("role", "alone");
        int fileFlags = fd.flags() & ~FdCalls.O_CLOEXEC & ~FdCalls.O_ACCMODE;
        if (role.equals("pair")) {
            String me = fd.identity();
            String peer = "unix:" + fd.detail("peer", "0");
            int file = ctx.sharedFd(me, () -> {
                int[] sp = FdCalls.socketpair(type, FdCalls.O_CLOEXEC | FdCalls.O_NONBLOCK);
                ctx.sharedFd(peer, () -> sp[1]);
                // what was queued to be read at one end is sent again from the other
                for (byte[] m : messages(ctx.carrier(me, "queued").map(f -> f.detail("queued", "")).orElse(""))) {
                    FdCalls.send(sp[1], m, me + " queue");
                }
                for (byte[] m : messages(ctx.carrier(peer, "queued").map(f -> f.detail("queued", "")).orElse(""))) {
                    FdCalls.send(sp[0], m, peer + " queue");
                }
                return sp[0];
            });
            FdCalls.fcntl(file, FdCalls.F_SETFL, fileFlags, me);
            ctx.install(file, fd);
            return Outcome.DONE;
        }
        if (ctx.kept(fd.identity()).isPresent()) { // made in another husk (inherited across a fork)
            ctx.install(ctx.kept(fd.identity()).get(), fd);
            return Outcome.DONE;
        }
        HuskCalls h = ctx.husk();
        int s = (int) h.call("socket(AF_UNIX, " + typeName(type) + ")", SYS_SOCKET, FdCalls.AF_UNIX,
                type | FdCalls.O_CLOEXEC, 0);
        String name = fd.detail("name", "");
        if (!name.isEmpty()) {
            ByteArrayOutputStream a = new ByteArrayOutputStream();
            a.write(FdCalls.AF_UNIX);
            a.write(0);
            boolean abstractName = name.startsWith("@");
            if (abstractName) {
                a.write(0);
                a.writeBytes(name.substring(1).getBytes(StandardCharsets.ISO_8859_1));
            } else {
                byte[] path = (name + "\0").getBytes(StandardCharsets.UTF_8);
                if (java.nio.file.Files.exists(java.nio.file.Path.of(name), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    h.call("unlink " + name, SYS_UNLINK, h.data(path)); // the old socket's file
                }
                a.writeBytes(path);
            }
            byte[] addr = a.toByteArray();
            h.call("bind " + name, SYS_BIND, s, h.data(addr), abstractName ? addr.length : addr.length - 1);
        }
        if (role.equals("listen")) {
            h.call("listen " + name, SYS_LISTEN, s, Long.parseLong(fd.detail("backlog", "128")));
        }
        if (fileFlags != 0) {
            h.call("fcntl(F_SETFL)", SYS_FCNTL, s, FdCalls.F_SETFL, fileFlags);
        }
        ctx.place(s, fd);
        ctx.keepFromHusk(fd.identity(), fd.fd());
        return Outcome.DONE;
    }
}
