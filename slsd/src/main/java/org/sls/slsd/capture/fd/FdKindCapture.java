package org.sls.slsd.capture.fd;

import org.sls.slsd.checkpoint.manifest.FdImage;

/**
 * Capture side of one fd kind (STYLE: one class per kind, registered in {@link FdKinds} by its
 * {@link FdImage.Kind}). Implementations are stateless and thread-safe.
 */
public interface FdKindCapture {
    /** Whether the fd is of this kind. */
    boolean matches(FdProbe p);

    /** The fd's image. */
    FdImage capture(FdProbe p);
}
