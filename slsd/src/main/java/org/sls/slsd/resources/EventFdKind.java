package org.sls.slsd.resources;

import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.linux.FdCalls;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;

/**
 * An eventfd: its 64-bit counter and semaphore mode, from fdinfo. Restore creates it once in slsd
 * (counter written after creation: eventfd2 takes only 32 bits), and installs the same open file
 * into every holder. Stateless, thread-safe.
 */
final class EventFdKind implements FdKind {
    private static final int EFD_SEMAPHORE = 1;

    @Override
    public FdImage.Kind kind() { return FdImage.Kind.EVENTFD; }

    @Override
    public boolean supports(FdProbe p, CaptureContext ctx) {
        return p.link().equals("anon_inode:[eventfd]");
    }

    @Override
    public String identity(FdProbe p, CaptureContext ctx) {
        return ctx.sameFileIdentity(p, "eventfd");
    }

    @Override
    public FdImage capture(FdProbe p, CaptureContext ctx) {
        Map<String, String> info = p.info();
        long count = Long.parseUnsignedLong(info.getOrDefault("eventfd-count", "0").trim(), 16);
        String sem = info.getOrDefault("eventfd-semaphore", "0").trim();
        return new FdImage(p.fd(), kind(), p.link(), p.flags(), 0, p.mode(), identity(p, ctx),
                Map.of("count", Long.toUnsignedString(count), "semaphore", sem));
    }

    @Override
    public Outcome restore(FdImage fd, RestoreContext ctx) {
        int flags = fd.flags() & ~FdCalls.O_CLOEXEC;
        int file = ctx.sharedFd("eventfd:" + fd.identity(), () -> {
            boolean sem = fd.detail("semaphore", "0").equals("1");
            long count = Long.parseUnsignedLong(fd.detail("count", "0"));
            int e = FdCalls.eventfd(0, FdCalls.O_CLOEXEC | FdCalls.O_NONBLOCK | (sem ? EFD_SEMAPHORE : 0));
            if (count != 0) {
                FdCalls.writeAll(e, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(count).array(),
                        fd.identity() + " (counter " + Long.toUnsignedString(count) + ")");
            }
            FdCalls.fcntl(e, FdCalls.F_SETFL, flags & ~FdCalls.O_ACCMODE, fd.identity());
            return e;
        });
        ctx.install(file, fd);
        return Outcome.DONE;
    }
}
