package org.sls.slsd.resources;

import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.checkpoint.manifest.FdImage;

import java.util.Map;

/**
 * A POSIX shared memory object (shm_open: a file in /dev/shm). While it exists it is the live object,
 * like any file; its content is saved too (once per inode, with its mappings), so that after a
 * reboot, when /dev/shm is empty, restore recreates it at its path with the checkpoint's content
 * and mode ({@link SharedFiles}). Stateless, thread-safe.
 */
final class PosixShmKind implements FdKind {
    @Override
    public FdImage.Kind kind() { return FdImage.Kind.POSIX_SHM; }

    @Override
    public boolean supports(FdProbe p, CaptureContext ctx) {
        return p.path() && p.type() == FdProbe.S_IFREG && p.link().startsWith("/dev/shm/")
                && !p.link().endsWith(" (deleted)");
    }

    @Override
    public String identity(FdProbe p, CaptureContext ctx) {
        return FileContentFds.identity(p, ctx);
    }

    @Override
    public FdImage capture(FdProbe p, CaptureContext ctx) {
        return FileContentFds.capture(kind(), p, ctx, Map.of());
    }

    @Override
    public Outcome restore(FdImage fd, RestoreContext ctx) {
        return FileContentFds.restore(fd, ctx);
    }
}
