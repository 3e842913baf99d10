package org.sls.slsd.resources;

import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.checkpoint.CheckpointException;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.linux.FdCalls;
import org.sls.slsd.linux.ProcFs;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * An epoll instance and its interest list (target fd, events, data) from fdinfo. The kernel keys
 * each entry by the target's fd number in the process that added it, so restore builds the
 * instance inside the husk, once every target fd is in place there ({@link Outcome#BLOCKED} until
 * then), and lends a copy to other holders. Readiness is recomputed by the kernel when the
 * targets are added. An entry whose fd number no longer names its file in the process (closed or
 * reused since it was added) cannot be rebuilt and is refused. Stateless, thread-safe.
 */
final class EpollKind implements FdKind {
    private static final long SYS_EPOLL_CREATE1 = 291, SYS_EPOLL_CTL = 233;
    private static final int EPOLL_CTL_ADD = 1;

    @Override
    public FdImage.Kind kind() { return FdImage.Kind.EPOLL; }

    @Override
    public boolean supports(FdProbe p, CaptureContext ctx) {
        return p.link().equals("anon_inode:[eventpoll]");
    }

    @Override
    public String identity(FdProbe p, CaptureContext ctx) {
        return ctx.sameFileIdentity(p, "epoll");
    }

    @Override
    public FdImage capture(FdProbe p, CaptureContext ctx) {
        String info = p.fdinfo();
        StringBuilder targets = new StringBuilder();
        // one "tfd: N events: HEX data: HEX pos: N ino: HEX sdev: HEX" line per watched fd: read by
        // hand, not by a regular expression, as a server's epoll has a line per client and is read
        // at every checkpoint while the process is frozen
        for (int at = info.startsWith("tfd:") ? 0 : lineStarting(info, 0); at >= 0; at = lineStarting(info, at + 4)) {
            int end = info.indexOf('\n', at);
            end = end < 0 ? info.length() : end;
            String line = info.substring(at, end);
            String tfdText = field(p, line, "tfd:");
            String events = field(p, line, "events:");
            String data = field(p, line, "data:");
            int tfd;
            long ino;
            try {
                tfd = Integer.parseInt(tfdText);
                ino = Long.parseLong(field(p, line, "ino:"), 16);
                Long.parseLong(events, 16);
                Long.parseUnsignedLong(data, 16);
            } catch (NumberFormatException e) {
                throw unreadable(p, line);
            }
            long[] st = ctx.fdStat(p.pid(), tfd); // one raw stat each (an epoll may watch thousands), shared with the fd's own read
            if ((st == null ? -1 : st[2]) != ino) {
                throw new CheckpointException(CheckpointException.Kind.UNSUPPORTED_RESOURCE, "pid " + p.pid() + " fd "
                        + p.fd() + " (" + p.link() + "): watches fd " + tfd + " (inode " + ino
                        + "), which the process has closed or reused since: not supported");
            }
            targets.append(targets.length() == 0 ? "" : ";").append(tfd).append(',').append(events).append(',')
                    .append(data);
        }
        return new FdImage(p.fd(), kind(), p.link(), p.flags(), 0, p.mode(), identity(p, ctx),
                Map.of("targets", targets.toString()));
    }

    /** Where the next line that starts with "tfd:" begins, looking from {@code from}; -1 for none. */
    private static int lineStarting(String info, int from) {
        int at = info.indexOf("\ntfd:", from);
        return at < 0 ? -1 : at + 1;
    }

    /** The value after {@code key} in a tfd line (spaces after the key skipped, up to the next space). */
    private static String field(FdProbe p, String line, String key) {
        int k = line.indexOf(key);
        if (k < 0) {
            throw unreadable(p, line);
        }
        int b = k + key.length();
        while (b < line.length() && (line.charAt(b) == ' ' || line.charAt(b) == '\t')) {
            b++;
        }
        int e = b;
        while (e < line.length() && line.charAt(e) != ' ' && line.charAt(e) != '\t') {
            e++;
        }
        if (e == b) {
            throw unreadable(p, line);
        }
        return line.substring(b, e);
    }

    private static CheckpointException unreadable(FdProbe p, String line) {
        return new CheckpointException(CheckpointException.Kind.INTERNAL, "pid " + p.pid() + " fd " + p.fd() + " ("
                + p.link() + "): unreadable fdinfo line '" + line + "'");
    }

    /** The interest list: {fd, events, data} per entry. */
    static List<long[]> targets(FdImage fd) {
        List<long[]> out = new ArrayList<>();
        String t = fd.detail("targets", "");
        if (t.isEmpty()) {
            return out;
        }
        for (String e : t.split(";")) {
            String[] f = e.split(",");
            out.add(new long[] {Integer.parseInt(f[0]), Long.parseLong(f[1], 16), Long.parseUnsignedLong(f[2], 16)});
        }
        return out;
    }

    @Override
    public Outcome restore(FdImage fd, RestoreContext ctx) {
        String key = "epoll:" + fd.identity();
        if (ctx.kept(key).isPresent()) {
            ctx.install(ctx.kept(key).get(), fd);
            return Outcome.DONE;
        }
        List<long[]> targets = targets(fd);
        for (long[] t : targets) {
            if (!ctx.placed((int) t[0])) {
                return Outcome.BLOCKED;
            }
        }
        HuskCalls h = ctx.husk();
        int ep = (int) h.call("epoll_create1", SYS_EPOLL_CREATE1, FdCalls.O_CLOEXEC);
        for (long[] t : targets) {
            byte[] ev = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putInt((int) t[1]).putLong(t[2]).array();
            h.call("epoll_ctl(ADD, fd " + t[0] + ") for epoll fd " + fd.fd(), SYS_EPOLL_CTL, ep, EPOLL_CTL_ADD, t[0],
                    h.data(ev));
        }
        ctx.place(ep, fd);
        ctx.keepFromHusk(key, fd.fd());
        return Outcome.DONE;
    }
}
