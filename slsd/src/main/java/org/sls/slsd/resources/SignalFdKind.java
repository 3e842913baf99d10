package org.sls.slsd.resources;

import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.linux.FdCalls;

import java.util.Map;

/**
 * A signalfd and its mask. It reads the signals of whichever process reads it, so slsd may create
 * it; the signals themselves are restored as the process's pending signals. Stateless, thread-safe.
 */
final class SignalFdKind implements FdKind {
    @Override
    public FdImage.Kind kind() { return FdImage.Kind.SIGNALFD; }

    @Override
    public boolean supports(FdProbe p, CaptureContext ctx) {
        return p.link().equals("anon_inode:[signalfd]");
    }

    @Override
    public String identity(FdProbe p, CaptureContext ctx) {
        return ctx.sameFileIdentity(p, "signalfd");
    }

    @Override
    public FdImage capture(FdProbe p, CaptureContext ctx) {
        String mask = p.info().getOrDefault("sigmask", "0").trim();
        return new FdImage(p.fd(), kind(), p.link(), p.flags(), 0, p.mode(), identity(p, ctx), Map.of("mask", mask));
    }

    @Override
    public Outcome restore(FdImage fd, RestoreContext ctx) {
        int flags = fd.flags() & ~FdCalls.O_CLOEXEC;
        int file = ctx.sharedFd("signalfd:" + fd.identity(), () -> {
            int s = FdCalls.signalfd(Long.parseUnsignedLong(fd.detail("mask", "0"), 16), FdCalls.O_CLOEXEC);
            FdCalls.fcntl(s, FdCalls.F_SETFL, flags & ~FdCalls.O_ACCMODE, fd.identity());
            return s;
        });
        ctx.install(file, fd);
        return Outcome.DONE;
    }
}
