package org.sls.slsd.resources;

import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.checkpoint.manifest.FdImage;

import java.util.Map;

/**
 * A memfd ("/memfd:NAME (deleted)"): name, size, seals and content, one file with its mappings
 * and with every other holder, so that what one process writes the others see again. The content
 * and seals are saved once per inode with the shared memory ({@code SharedMemoryImage}); restore
 * makes a memfd of the same name ({@link SharedFiles}). Stateless, thread-safe.
 */
final class MemfdKind implements FdKind {
    @Override
    public FdImage.Kind kind() { return FdImage.Kind.MEMFD; }

    @Override
    public boolean supports(FdProbe p, CaptureContext ctx) {
        return p.link().startsWith("/memfd:") && p.type() == FdProbe.S_IFREG;
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
