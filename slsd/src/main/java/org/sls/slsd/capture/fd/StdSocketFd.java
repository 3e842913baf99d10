package org.sls.slsd.capture.fd;

import org.sls.slsd.checkpoint.manifest.FdImage;

/** A std stream on a socket (e.g. started by systemd): restore reconnects it to /dev/null. Stateless. */
final class StdSocketFd implements FdKindCapture {
    @Override
    public boolean matches(FdProbe p) {
        return p.stdStream() && p.link().startsWith("socket:");
    }

    @Override
    public FdImage capture(FdProbe p) {
        return new FdImage(p.fd(), FdImage.Kind.STD_SOCKET, p.link(), p.flags(), 0, p.mode(), p.identity());
    }
}
