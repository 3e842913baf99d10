package org.sls.slsd.resources;

import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.linux.InetCalls;
import org.sls.slsd.linux.InetCalls.InetSocket;
import org.sls.slsd.linux.Linux;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * UDP sockets, IPv4 and IPv6: bound or not, connected or not, with their options (v6only,
 * SO_REUSEADDR/SO_REUSEPORT, SO_BROADCAST, buffer sizes the program set). Restore makes the socket
 * in slsd, binds it to the same address and connects it to the same peer, and lends it to every
 * holder. Datagrams queued to be read are dropped and the restore log says how many bytes: UDP
 * promises no delivery, and a datagram's sender cannot be impersonated to queue it again.
 * Stateless, thread-safe.
 */
final class UdpSocketKind implements FdKind {
    private static final Logger log = LoggerFactory.getLogger(UdpSocketKind.class);

    @Override
    public FdImage.Kind kind() { return FdImage.Kind.UDP_SOCKET; }

    @Override
    public boolean supports(FdProbe p, CaptureContext ctx) {
        return InetSockets.socket(p, ctx, InetCalls.IPPROTO_UDP).isPresent();
    }

    @Override
    public String identity(FdProbe p, CaptureContext ctx) {
        return "udp:" + InetSockets.ino(p);
    }

    @Override
    public FdImage capture(FdProbe p, CaptureContext ctx) {
        InetSocket s = InetSockets.socket(p, ctx, InetCalls.IPPROTO_UDP).orElseThrow();
        String what = "pid " + p.pid() + " fd " + p.fd() + " (" + InetSockets.describe(s) + ")";
        Map<String, String> d = new LinkedHashMap<>();
        InetSockets.putAddress(d, "local", s.local());
        if (s.remote().getPort() != 0) {
            InetSockets.putAddress(d, "remote", s.remote());
        }
        if (s.rqueue() > 0) {
            d.put("dropped", Long.toString(s.rqueue()));
        }
        InetSockets.withCopy(p, ctx, fd -> { InetSockets.captureOptions(fd, s, d, what); return null; });
        return new FdImage(p.fd(), kind(), p.link(), p.flags(), 0, p.mode(), identity(p, ctx), d);
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
        InetSocketAddress remote = img.details().containsKey("remote") ? InetSockets.address(img, "remote") : null;
        String what = "pid " + ctx.husk().checkpointedPid() + " fd " + img.fd() + " (udp " + InetSockets.show(local)
                + (remote == null ? "" : " -> " + InetSockets.show(remote)) + ")";
        int s = InetCalls.socket(family, InetCalls.SOCK_DGRAM, what);
        try {
            InetSockets.optionsBeforeBind(s, img, what);
            InetCalls.setInt(s, InetCalls.SOL_SOCKET, InetCalls.SO_REUSEADDR, Integer.parseInt(img.detail("so_reuseaddr", "0")), what);
            if (local.getPort() != 0) {
                InetCalls.bind(s, family, local, what);
            }
            if (remote != null) {
                InetCalls.connect(s, family, remote, what);
            }
            InetSockets.optionsAfter(s, img, InetCalls.IPPROTO_UDP, true, what);
            String dropped = img.detail("dropped", null);
            if (dropped != null) {
                log.info("{}: {} bytes of datagrams that were queued to be read are dropped", what, dropped);
            }
            return s;
        } catch (RuntimeException e) {
            Linux.close(s);
            throw new IllegalStateException(what + ": " + e.getMessage(), e);
        }
    }
}
