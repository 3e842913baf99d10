package org.sls.slsd.capture.fd;

import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.resources.CaptureContext;
import org.sls.slsd.resources.ResourceKinds;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

/**
 * Every fd kind this version captures, keyed by {@link FdImage.Kind}. A new kind: one class, one line.
 * Immutable, thread-safe.
 */
public final class FdKinds {
    private static final Map<FdImage.Kind, FdKindCapture> KINDS;

    static {
        EnumMap<FdImage.Kind, FdKindCapture> m = new EnumMap<>(FdImage.Kind.class);
        m.put(FdImage.Kind.REGULAR, new RegularFileFd());
        m.put(FdImage.Kind.DIRECTORY, new DirectoryFd());
        m.put(FdImage.Kind.CHAR_DEVICE, new NullDeviceFd());
        m.put(FdImage.Kind.STD_PIPE, new StdPipeFd());
        m.put(FdImage.Kind.STD_TTY, new StdTtyFd());
        m.put(FdImage.Kind.STD_SOCKET, new StdSocketFd());
        // the kinds of org.sls.slsd.resources (FdCapture asks them first, with the partition's context)
        ResourceKinds.all().forEach((kind, k) -> m.putIfAbsent(kind, new FdKindCapture() {
            @Override
            public boolean matches(FdProbe p) { return k.supports(p, CaptureContext.single(p.pid())); }

            @Override
            public FdImage capture(FdProbe p) { return k.capture(p, CaptureContext.single(p.pid())); }
        }));
        KINDS = Collections.unmodifiableMap(m);
    }

    private FdKinds() {}

    public static Map<FdImage.Kind, FdKindCapture> all() { return KINDS; }
}
