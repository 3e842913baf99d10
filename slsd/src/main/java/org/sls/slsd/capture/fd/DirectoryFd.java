package org.sls.slsd.capture.fd;

import org.sls.slsd.checkpoint.manifest.FdImage;

/** An open directory (O_DIRECTORY, e.g. for openat): path, flags, offset. Stateless. */
final class DirectoryFd implements FdKindCapture {
    @Override
    public boolean matches(FdProbe p) {
        return p.path() && p.type() == FdProbe.S_IFDIR;
    }

    @Override
    public FdImage capture(FdProbe p) {
        return new FdImage(p.fd(), FdImage.Kind.DIRECTORY, p.link(), p.flags(), p.pos(), p.mode(), p.identity());
    }
}
