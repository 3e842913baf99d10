package org.sls.slsd.capture.fd;

import org.sls.slsd.checkpoint.manifest.FdImage;

import java.util.Set;

/** /dev/null and the other stateless character devices, reopened by path. Stateless. */
final class NullDeviceFd implements FdKindCapture {
    private static final Set<String> DEVICES = Set.of("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom");

    @Override
    public boolean matches(FdProbe p) {
        return p.type() == FdProbe.S_IFCHR && DEVICES.contains(p.link());
    }

    @Override
    public FdImage capture(FdProbe p) {
        return new FdImage(p.fd(), FdImage.Kind.CHAR_DEVICE, p.link(), p.flags(), 0, p.mode(), p.identity());
    }
}
