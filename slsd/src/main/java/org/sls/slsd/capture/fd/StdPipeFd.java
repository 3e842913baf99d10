package org.sls.slsd.capture.fd;

import org.sls.slsd.checkpoint.manifest.FdImage;

/**
 * A std stream (fd 0-2) on a pipe or FIFO, whose other end is outside the partition: restore
 * reconnects it to /dev/null (or a console). Pipes on other fds are refused until issue 6. Stateless.
 */
final class StdPipeFd implements FdKindCapture {
    @Override
    public boolean matches(FdProbe p) {
        return p.stdStream() && (p.link().startsWith("pipe:") || (p.path() && p.type() == FdProbe.S_IFIFO));
    }

    @Override
    public FdImage capture(FdProbe p) {
        return new FdImage(p.fd(), FdImage.Kind.STD_PIPE, p.link(), p.flags(), 0, p.mode(), p.identity());
    }
}
