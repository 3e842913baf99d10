package org.sls.slsd.resources;

import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.checkpoint.manifest.FdImage;

import java.util.Map;

/**
 * A regular file deleted while open ("/dir/name (deleted)"): only the checkpoint keeps its content,
 * saved once per inode (with any mapping of it), page by page, a delta writing only the pages that
 * changed. Restore makes an unlinked file with the same content, mode and owner, in its directory
 * when it still exists ({@link SharedFiles}), and opens it with the fd's flags and offset.
 * Stateless, thread-safe.
 */
final class DeletedFileKind implements FdKind {
    @Override
    public FdImage.Kind kind() { return FdImage.Kind.DELETED_FILE; }

    @Override
    public boolean supports(FdProbe p, CaptureContext ctx) {
        return p.path() && p.type() == FdProbe.S_IFREG && p.link().endsWith(" (deleted)")
                && !p.link().startsWith("/memfd:");
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
