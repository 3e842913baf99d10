package org.sls.slsd.checkpoint;

/**
 * The bound on staging memory ({@code staging.max.bytes}): the bytes of the staging areas held by
 * checkpoints captured and not yet written, all partitions together. A checkpoint takes its
 * estimate before it freezes, waiting while the others hold too much (one alone always proceeds,
 * however large), replaces it by its staging area's real size once captured, and gives it back
 * once written. This is the back-pressure of periodic checkpoints on memory: when the store cannot
 * keep up, captures wait here and the period stretches, instead of memory growing without bound.
 *
 * <p>Thread-safe.
 */
final class StagingBudget {
    private final long maxBytes;
    /** Guarded by this. */
    private long inUse;

    StagingBudget(long maxBytes) {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("staging.max.bytes must be positive, not " + maxBytes);
        }
        this.maxBytes = maxBytes;
    }

    long maxBytes() {
        return maxBytes;
    }

    synchronized long inUse() {
        return inUse;
    }

    /** Waits until {@code bytes} fit beside what is held (or nothing is), then takes them. */
    synchronized void take(long bytes) throws InterruptedException {
        while (inUse > 0 && inUse + bytes > maxBytes) {
            wait(100);
        }
        inUse += bytes;
    }

    /** Replaces {@code was} bytes taken by {@code now}; returns {@code now}. */
    synchronized long adjust(long was, long now) {
        inUse += now - was;
        notifyAll();
        return now;
    }

    /** Gives back {@code bytes} taken. */
    synchronized void give(long bytes) {
        inUse -= bytes;
        notifyAll();
    }
}
