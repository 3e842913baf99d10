package org.sls.slsd.capture.fd;

import org.sls.slsd.checkpoint.manifest.FdImage;

/**
 * A std stream on a terminal that is not a pseudo-terminal (a virtual console, a serial line):
 * restore reconnects it to /dev/null. Pseudo-terminals are {@code resources.PtyKind}'s. Stateless.
 */
final class StdTtyFd implements FdKindCapture {
    @Override
    public boolean matches(FdProbe p) {
        String l = p.link();
        return p.stdStream() && p.type() == FdProbe.S_IFCHR
                && (l.startsWith("/dev/pts/") || l.startsWith("/dev/tty") || l.equals("/dev/console"));
    }

    @Override
    public FdImage capture(FdProbe p) {
        return new FdImage(p.fd(), FdImage.Kind.STD_TTY, p.link(), p.flags(), 0, p.mode(), p.identity());
    }
}
