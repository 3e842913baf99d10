package org.sls.slos;

import java.time.Duration;
import java.time.Instant;

/**
 * When to clean: once free segments fall below a fraction of the store, at most once per
 * interval (time from the injected clock, so tests can move it). Immutable; thread-safe.
 */
record CleanerPolicy(double lowFreeFraction, Duration minInterval) {
    static CleanerPolicy defaults() {
        return new CleanerPolicy(0.25, Duration.ofSeconds(10));
    }

    boolean shouldRun(StoreUsage u, Instant now, Instant lastRun) {
        if (lastRun != null && Duration.between(lastRun, now).compareTo(minInterval) < 0) {
            return false;
        }
        return u.segments() > 0 && (double) u.freeSegments() / u.segments() < lowFreeFraction;
    }
}
