package org.sls.slsd.resources;

import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.checkpoint.manifest.FdImage;

/**
 * One kind of fd, capture and restore side by side (STYLE: one class per kind, registered in
 * {@link ResourceKinds} by its {@link FdImage.Kind}). Capture runs while the partition is frozen;
 * restore runs in slsd's restore thread with syscalls injected into the husk. Kinds whose kernel
 * object several fds share (a pipe's ends, a forked eventfd) create it once per restore and install
 * it in every holder through {@link RestoreContext#install}. Implementations are stateless and
 * thread-safe; per-checkpoint and per-restore state lives in the contexts.
 */
public interface FdKind {
    /** The manifest kind this class captures and restores. */
    FdImage.Kind kind();

    /** Whether the fd is of this kind (and this kind, rather than an older catch-all, should take it). */
    boolean supports(FdProbe p, CaptureContext ctx);

    /**
     * The identity of the kernel object behind the fd, equal for every fd of the partition that
     * refers to it ("pipe:[4242]", "eventfd:7", "timerfd:pid 12 fd 4").
     */
    String identity(FdProbe p, CaptureContext ctx);

    /** The fd's image; throws a {@link org.sls.slsd.checkpoint.CheckpointException} naming pid, fd and kind when it cannot be saved faithfully. */
    FdImage capture(FdProbe p, CaptureContext ctx);

    /** Puts the fd in place in the husk {@link RestoreContext#husk()}, or says what it waits for. */
    Outcome restore(FdImage fd, RestoreContext ctx);
}
