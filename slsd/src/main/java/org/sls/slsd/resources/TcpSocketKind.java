package org.sls.slsd.resources;

import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.linux.InetCalls;
import org.sls.slsd.linux.InetCalls.InetSocket;
import org.sls.slsd.linux.NetworkLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * TCP sockets, IPv4 and IPv6, in four roles (detail {@code role}):
 * <ul>
 * <li>{@code listen}: comes back listening on the same address with the same backlog and options.
 * Connections waiting in its accept queue from peers outside the partition are dropped (those
 * peers saw RST when the process died, exactly as for the established connections below); one
 * whose peer is in the partition is refused.</li>
 * <li>{@code repair}: an established connection whose peer is held by the partition too. Captured
 * with TCP_REPAIR while frozen on slsd's copy of the socket (sequence numbers, both queues peeked,
 * mss, window scale, SACK, timestamps, window) and left with TCP_REPAIR_OFF_NO_WP, so the live
 * connection never sees a packet; SO_REUSEADDR, which leaving repair clears, is set back. Restored
 * in slsd in repair mode (bind, queue sequences, connect without a SYN, options, queues refilled,
 * window), then repair off, the never-sent bytes sent normally, and installed in the husk. Both
 * ends come back, so neither notices.</li>
 * <li>{@code closed}: a connection to a peer outside the partition. When the process died the
 * kernel sent that peer FIN or RST (DESIGN section 9), so bringing the connection back would be
 * wrong: it comes back as a TCP socket of the same family that is not connected, which polls
 * EPOLLHUP, reads ENOTCONN and writes EPIPE, with its file flags (O_NONBLOCK) but the default socket
 * options (they act only on a connection or a bind, so they are not saved). A server (redis,
 * memcached, http.server) frees such a client like one that went away; the restore log names each
 * one.</li>
 * <li>{@code locked}: an established connection to a peer outside the partition, captured by
 * {@code checkpoint --kill} under the network lock (no packet of it passes from before the capture
 * until the restore lifts the lock) exactly as a {@code repair} one, and put back into repair mode
 * before the kill so that it closes silently. Restored as a {@code repair} one while the lock of
 * its epoch is in place ({@link RestoreContext#lockHeld}): the peer, whose packets were lost
 * meanwhile as on a bad link, retransmits and notices nothing. Without that lock (lifted by an
 * earlier restore, removed by hand, or gone with a reboot) the peer may have moved on or been
 * reset, and it comes back {@code closed}.</li>
 * <li>{@code alone}: not connected, bound or not.</li>
 * </ul>
 * The TCP_REPAIR state itself is {@link TcpRepair}'s. Refused, naming pid, fd and addresses: a connection inside the partition in any state but
 * ESTABLISHED (half-closed, connecting) and a connection waiting to be accepted whose client is in
 * the partition. Every socket is made in slsd and lent to each holder, so forked holders share it.
 * A restored connection keeps the buffer sizes it had at checkpoint time (so that its queues fit
 * again), which turns the kernel's autotuning off for it. Stateless, thread-safe.
 */
final class TcpSocketKind implements FdKind {
    private static final Logger log = LoggerFactory.getLogger(TcpSocketKind.class);

    @Override
    public FdImage.Kind kind() { return FdImage.Kind.TCP_SOCKET; }

    @Override
    public boolean supports(FdProbe p, CaptureContext ctx) {
        return InetSockets.socket(p, ctx, InetCalls.IPPROTO_TCP).isPresent();
    }

    @Override
    public String identity(FdProbe p, CaptureContext ctx) {
        return "tcp:" + InetSockets.ino(p);
    }

    @Override
    public FdImage capture(FdProbe p, CaptureContext ctx) {
        InetSocket s = InetSockets.socket(p, ctx, InetCalls.IPPROTO_TCP).orElseThrow();
        Map<String, String> d = new LinkedHashMap<>();
        InetSockets.putAddress(d, "local", s.local());
        if (s.state() == InetCalls.TCP_LISTEN) {
            d.put("role", "listen");
            d.put("backlog", Long.toString(s.wqueue()));
            if (s.rqueue() > 0) {
                int dropped = 0;
                for (InetSocket c : InetSockets.all(ctx)) {
                    // waiting to be accepted: established (or closed by the client meanwhile), held by no process yet
                    boolean queued = c.state() == InetCalls.TCP_ESTABLISHED || c.state() == InetCalls.TCP_CLOSE_WAIT;
                    if (c.ino() == 0 && queued && c.local().getPort() == s.local().getPort()
                            && (s.local().getAddress().isAnyLocalAddress() || c.local().getAddress().equals(s.local().getAddress()))) {
                        if (InetSockets.peer(c, ctx).filter(o -> InetSockets.inPartition(o, ctx)).isPresent()) {
                            throw InetSockets.refuse(p, s, "a connection from " + InetSockets.show(c.remote())
                                    + ", a socket of the partition, waits to be accepted");
                        }
                        dropped++;
                    }
                }
                d.put("dropped", Integer.toString(dropped));
            }
            String what = what(p, s);
            InetSockets.withCopy(p, ctx, fd -> { InetSockets.captureOptions(fd, s, d, what); return null; });
        } else if (s.remote().getPort() != 0) {
            InetSockets.putAddress(d, "remote", s.remote());
            boolean inside = InetSockets.peer(s, ctx).filter(o -> InetSockets.inPartition(o, ctx)).isPresent();
            if (!inside && ctx.lockOutside() && s.state() == InetCalls.TCP_ESTABLISHED) {
                if (!ctx.isLocked(new NetworkLock.Connection(s.local(), s.remote()))) {
                    throw InetSockets.refuse(p, s, "a connection to a peer outside the partition that the network lock "
                            + "does not hold");
                }
                d.put("role", "locked");
                d.put("boot_id", bootId());
                String what = what(p, s);
                InetSockets.withCopy(p, ctx, fd -> {
                    InetSockets.captureOptions(fd, s, d, what);
                    TcpRepair.capture(fd, d, what);
                    return null;
                });
                if (ctx.firstOf(identity(p, ctx) + "#repaired")) {
                    ctx.repaired(p.pid(), p.fd());
                }
            } else if (!inside) {
                d.put("role", "closed");
                d.put("state", Integer.toString(s.state()));
                // no options: they act on a connection or a bind, and this socket comes back with
                // neither; they were ten getsockopt per client and checkpoint, in the frozen window
                // (some 350 a checkpoint for redis under redis-benchmark)
                d.put("family", Integer.toString(s.family()));
            } else if (s.state() != InetCalls.TCP_ESTABLISHED) {
                throw InetSockets.refuse(p, s, "a connection inside the partition in TCP state " + s.state()
                        + " (only established ones are restored)");
            } else {
                d.put("role", "repair");
                String what = what(p, s);
                InetSockets.withCopy(p, ctx, fd -> {
                    InetSockets.captureOptions(fd, s, d, what);
                    TcpRepair.capture(fd, d, what);
                    return null;
                });
                if (ctx.firstOf(identity(p, ctx) + "#repaired")) {
                    ctx.repaired(p.pid(), p.fd());
                }
            }
        } else {
            d.put("role", "alone");
            String what = what(p, s);
            InetSockets.withCopy(p, ctx, fd -> { InetSockets.captureOptions(fd, s, d, what); return null; });
        }
        return new FdImage(p.fd(), kind(), p.link(), p.flags(), 0, p.mode(), identity(p, ctx), d);
    }

    /**
     * How errors name the socket: made only where options or repair state are read (a connection
     * that comes back closed reads neither, and a server has one per client at every checkpoint).
     */
    private static String what(FdProbe p, InetSocket s) {
        return "pid " + p.pid() + " fd " + p.fd() + " (" + InetSockets.describe(s) + ")";
    }

    /**
     * The established connections of the partition's processes (std streams aside) whose peer is
     * not in the partition, one per socket, seen from the partition's side.
     */
    static List<NetworkLock.Connection> outside(CaptureContext ctx) {
        Map<Long, NetworkLock.Connection> out = new LinkedHashMap<>();
        for (int pid : new java.util.TreeSet<>(ctx.pids())) {
            for (Map.Entry<Integer, String> e : ctx.fdLinks(pid).entrySet()) {
                int fd = e.getKey();
                String link = e.getValue();
                if (fd <= 2) {
                    continue; // std streams on a socket come back on /dev/null, never repaired
                }
                if (!link.startsWith("socket:[")) {
                    continue;
                }
                InetSocket s = InetSockets.of(pid, fd, link, ctx).orElse(null);
                if (s != null && s.protocol() == InetCalls.IPPROTO_TCP && s.state() == InetCalls.TCP_ESTABLISHED
                        && s.remote().getPort() != 0
                        && InetSockets.peer(s, ctx).filter(o -> InetSockets.inPartition(o, ctx)).isEmpty()) {
                    out.putIfAbsent(s.ino(), new NetworkLock.Connection(s.local(), s.remote()));
                }
            }
        }
        return new ArrayList<>(out.values());
    }

    /** This boot's id (/proc/sys/kernel/random/boot_id), "" when unreadable. */
    static String bootId() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/kernel/random/boot_id")).strip();
        } catch (java.io.IOException e) {
            return "";
        }
    }

    @Override
    public Outcome restore(FdImage fd, RestoreContext ctx) {
        int file = ctx.sharedFd(fd.identity(), () -> make(fd, ctx));
        ctx.install(file, fd);
        return Outcome.DONE;
    }

    private static int make(FdImage img, RestoreContext ctx) {
        int family = Integer.parseInt(img.detail("family", "2"));
        InetSocketAddress local = InetSockets.address(img, "local");
        String role = img.detail("role", "alone");
        String what = "pid " + ctx.husk().checkpointedPid() + " fd " + img.fd() + " (tcp " + role + " "
                + InetSockets.show(local) + (img.details().containsKey("remote")
                ? " -> " + InetSockets.show(InetSockets.address(img, "remote")) : "") + ")";
        int s = InetCalls.socket(family, InetCalls.SOCK_STREAM, what);
        try {
            InetSockets.optionsBeforeBind(s, img, what);
            switch (role) {
                case "listen" -> {
                    // repair mode lets the bind through whatever the dead process left on the port
                    // (TIME_WAIT, our own restored connections); listen checks again, hence SO_REUSEADDR
                    InetCalls.setInt(s, InetCalls.IPPROTO_TCP, InetCalls.TCP_REPAIR, InetCalls.TCP_REPAIR_ON, what);
                    InetCalls.bind(s, family, local, what);
                    InetCalls.setInt(s, InetCalls.IPPROTO_TCP, InetCalls.TCP_REPAIR, InetCalls.TCP_REPAIR_OFF_NO_WP, what);
                    InetCalls.setInt(s, InetCalls.SOL_SOCKET, InetCalls.SO_REUSEADDR, 1, what);
                    InetCalls.listen(s, Integer.parseInt(img.detail("backlog", "128")), what);
                    InetSockets.optionsAfter(s, img, InetCalls.IPPROTO_TCP, true, what);
                    int dropped = Integer.parseInt(img.detail("dropped", "0"));
                    if (dropped > 0) {
                        log.info("{}: {} connection(s) from outside the partition that waited to be accepted are "
                                + "dropped (their peers saw RST when the process died)", what, dropped);
                    }
                }
                case "repair" -> {
                    // the buffer sizes it had, at least: its queues must fit again
                    InetSockets.optionsAfter(s, img, InetCalls.IPPROTO_TCP, true, what);
                    TcpRepair.restore(s, family, local, InetSockets.address(img, "remote"), img, ctx, what);
                }
                case "locked" -> {
                    if (ctx.lockHeld()) {
                        InetSockets.optionsAfter(s, img, InetCalls.IPPROTO_TCP, true, what);
                        TcpRepair.restore(s, family, local, InetSockets.address(img, "remote"), img, ctx, what);
                        log.info("{}: resumed with TCP_REPAIR under the network lock of checkpoint --kill", what);
                    } else {
                        InetSockets.optionsAfter(s, img, InetCalls.IPPROTO_TCP, false, what);
                        String boot = img.detail("boot_id", "");
                        log.info("{}: restored as a closed socket: no network lock for this epoch is in place ({}), so "
                                + "the peer may have moved on or been reset", what, !boot.isEmpty() && !boot.equals(bootId())
                                ? "the machine rebooted since the checkpoint" : "an earlier restore lifted it, or it was removed");
                    }
                }
                case "closed" -> {
                    InetSockets.optionsAfter(s, img, InetCalls.IPPROTO_TCP, false, what);
                    log.info("{}: the peer is outside the partition and saw FIN/RST when the process died: "
                            + "restored as a closed socket (reads ENOTCONN, polls EPOLLHUP)", what);
                }
                default -> {
                    if (local.getPort() != 0) {
                        InetCalls.setInt(s, InetCalls.IPPROTO_TCP, InetCalls.TCP_REPAIR, InetCalls.TCP_REPAIR_ON, what);
                        InetCalls.bind(s, family, local, what);
                        InetCalls.setInt(s, InetCalls.IPPROTO_TCP, InetCalls.TCP_REPAIR, InetCalls.TCP_REPAIR_OFF_NO_WP, what);
                    }
                    InetSockets.optionsAfter(s, img, InetCalls.IPPROTO_TCP, true, what);
                }
            }
            return s;
        } catch (RuntimeException e) {
            org.sls.slsd.linux.Linux.close(s);
            throw new IllegalStateException(what + ": " + e.getMessage(), e);
        }
    }
}
