package org.sls.slsd.resources;

import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.checkpoint.manifest.FdImage;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * Every fd kind of this package, keyed by {@link FdImage.Kind}: a new kind is one class and one
 * line here. Capture tries these before the engine's older kinds (so that, say, a std stream on a
 * pipe inside the partition is a {@code PIPE}), in the order of {@link FdImage.Kind} (so that a
 * connection to slsd is an {@code SLS_CONTROL}, not a refused {@code UNIX_SOCKET}); restore hands
 * them every fd of their kinds.
 * Immutable, thread-safe.
 */
public final class ResourceKinds {
    private static final Map<FdImage.Kind, FdKind> KINDS;

    static {
        EnumMap<FdImage.Kind, FdKind> m = new EnumMap<>(FdImage.Kind.class);
        add(m, new PipeKind());
        add(m, new EventFdKind());
        add(m, new TimerFdKind());
        add(m, new SignalFdKind());
        add(m, new EpollKind());
        add(m, new SlsControlKind());
        add(m, new UnixSocketKind());
        add(m, new TcpSocketKind());
        add(m, new UdpSocketKind());
        add(m, new MemfdKind());
        add(m, new DeletedFileKind());
        add(m, new PosixShmKind());
        add(m, new InotifyKind());
        add(m, new PidfdKind());
        add(m, new PtyKind());
        KINDS = Collections.unmodifiableMap(m);
    }

    private static void add(EnumMap<FdImage.Kind, FdKind> m, FdKind k) {
        if (m.put(k.kind(), k) != null) {
            throw new IllegalStateException("two classes for fd kind " + k.kind());
        }
    }

    private ResourceKinds() {}

    public static Map<FdImage.Kind, FdKind> all() { return KINDS; }

    /** The image of the fd by the first kind here that supports it, or empty when none does. */
    public static Optional<FdImage> capture(FdProbe p, CaptureContext ctx) {
        for (FdKind k : KINDS.values()) {
            if (k.supports(p, ctx)) {
                return Optional.of(k.capture(p, ctx));
            }
        }
        return Optional.empty();
    }
}
