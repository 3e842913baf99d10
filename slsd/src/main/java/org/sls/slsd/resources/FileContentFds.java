package org.sls.slsd.resources;

import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.linux.FdCalls;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the kinds whose file content the checkpoint holds ({@link MemfdKind}, {@link DeletedFileKind},
 * {@link PosixShmKind}) do alike. Capture hands the file to the memory capture (saved once per
 * inode, with the mappings of the same file) and records the fd's flags and offset; its identity
 * is its open file description, so that fds sharing one (dup, fork) share one again. Restore opens
 * the file {@link SharedFiles} made, once per description, at the offset, and installs it.
 * Stateless.
 */
final class FileContentFds {
    static final String CONTENT = "content";
    private static final int O_NOCTTY = 0400, O_NOFOLLOW = 0400000;

    private FileContentFds() {}

    static FdImage capture(FdImage.Kind kind, FdProbe p, CaptureContext ctx, Map<String, String> more) {
        String content = CaptureContext.mapsIdentity(p);
        ctx.contents().file(content, p.link(), "/proc/" + p.pid() + "/fd/" + p.fd());
        Map<String, String> d = new LinkedHashMap<>(more);
        d.put(CONTENT, content);
        return new FdImage(p.fd(), kind, p.link(), p.flags(), p.pos(), p.mode(), identity(p, ctx), d);
    }

    static String identity(FdProbe p, CaptureContext ctx) {
        return ctx.sameFileIdentity(p, "file " + CaptureContext.mapsIdentity(p));
    }

    static Outcome restore(FdImage fd, RestoreContext ctx) {
        String content = fd.detail(CONTENT, "");
        if (ctx.files().image(content).isEmpty()) {
            throw new IllegalStateException("pid " + ctx.husk().checkpointedPid() + " fd " + fd.fd() + " (" + fd.path()
                    + "): the checkpoint holds no content for " + content);
        }
        int file = ctx.files().fd(content, 0);
        // shm_open's O_NOFOLLOW would refuse the /proc link the file is reopened through
        int flags = fd.flags() & ~(FdCalls.O_CLOEXEC | FdCalls.O_CREAT | FdCalls.O_EXCL | FdCalls.O_TRUNC
                | O_NOCTTY | O_NOFOLLOW);
        int open = ctx.sharedFd("file-description:" + fd.identity(), () -> {
            int f = FdCalls.open("/proc/self/fd/" + file, flags | FdCalls.O_CLOEXEC);
            FdCalls.seek(f, fd.offset(), fd.path() + " (offset " + fd.offset() + ")");
            return f;
        });
        ctx.install(open, fd);
        return Outcome.DONE;
    }
}
