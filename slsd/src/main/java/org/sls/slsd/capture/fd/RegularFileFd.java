package org.sls.slsd.capture.fd;

import org.sls.slsd.checkpoint.manifest.FdImage;

/** A regular file: path, flags, offset and mode; restore reopens it and seeks. Stateless. */
final class RegularFileFd implements FdKindCapture {
    @Override
    public boolean matches(FdProbe p) {
        return p.path() && p.type() == FdProbe.S_IFREG;
    }

    @Override
    public FdImage capture(FdProbe p) {
        return new FdImage(p.fd(), FdImage.Kind.REGULAR, p.link(), p.flags(), p.pos(), p.mode(), p.identity());
    }
}
