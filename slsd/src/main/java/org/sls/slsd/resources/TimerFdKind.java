package org.sls.slsd.resources;

import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.linux.FdCalls;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A timerfd: clock, time left until the next expiry, interval and expirations not read yet, from
 * fdinfo. Restore arms a new one in slsd relative to the restore (the process sees the time it was
 * frozen as not having passed, as for its other timers) and sets the unread count with
 * TFD_IOC_SET_TICKS. Stateless, thread-safe.
 */
final class TimerFdKind implements FdKind {
    private static final Pattern PAIR = Pattern.compile("\\((\\d+),\\s*(\\d+)\\)");

    @Override
    public FdImage.Kind kind() { return FdImage.Kind.TIMERFD; }

    @Override
    public boolean supports(FdProbe p, CaptureContext ctx) {
        return p.link().equals("anon_inode:[timerfd]");
    }

    @Override
    public String identity(FdProbe p, CaptureContext ctx) {
        return ctx.sameFileIdentity(p, "timerfd");
    }

    @Override
    public FdImage capture(FdProbe p, CaptureContext ctx) {
        Map<String, String> info = p.info();
        return new FdImage(p.fd(), kind(), p.link(), p.flags(), 0, p.mode(), identity(p, ctx), Map.of(
                "clock", info.getOrDefault("clockid", "1"), "ticks", info.getOrDefault("ticks", "0"),
                "valueNs", Long.toString(nanos(info.get("it_value"))),
                "intervalNs", Long.toString(nanos(info.get("it_interval")))));
    }

    private static long nanos(String pair) {
        Matcher m = PAIR.matcher(pair == null ? "(0, 0)" : pair);
        if (!m.find()) {
            throw new IllegalStateException("timerfd fdinfo: cannot read \"" + pair + "\"");
        }
        return Long.parseLong(m.group(1)) * 1_000_000_000L + Long.parseLong(m.group(2));
    }

    @Override
    public Outcome restore(FdImage fd, RestoreContext ctx) {
        int flags = fd.flags() & ~FdCalls.O_CLOEXEC;
        int file = ctx.sharedFd("timerfd:" + fd.identity(), () -> {
            int t = FdCalls.timerfd(Integer.parseInt(fd.detail("clock", "1")), FdCalls.O_CLOEXEC | FdCalls.O_NONBLOCK,
                    Long.parseLong(fd.detail("valueNs", "0")), Long.parseLong(fd.detail("intervalNs", "0")),
                    Long.parseLong(fd.detail("ticks", "0")));
            FdCalls.fcntl(t, FdCalls.F_SETFL, flags & ~FdCalls.O_ACCMODE, fd.identity());
            return t;
        });
        ctx.install(file, fd);
        return Outcome.DONE;
    }
}
