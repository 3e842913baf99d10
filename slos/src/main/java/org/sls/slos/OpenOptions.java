package org.sls.slos;

import java.time.Clock;
import java.time.Duration;

/**
 * Options of {@link Slos#open}: the clock (commit times, cleaner pacing), whether a background
 * cleaner thread runs and how often it checks. Immutable.
 */
public record OpenOptions(Clock clock, boolean backgroundCleaner, Duration cleanerInterval) {
    public OpenOptions {
        if (clock == null) {
            clock = Clock.systemUTC();
        }
        if (cleanerInterval == null) {
            cleanerInterval = Duration.ofSeconds(5);
        }
    }

    /** System clock, background cleaner every 5 s. */
    public static OpenOptions defaults() {
        return new OpenOptions(Clock.systemUTC(), true, Duration.ofSeconds(5));
    }

    public OpenOptions withClock(Clock c) {
        return new OpenOptions(c, backgroundCleaner, cleanerInterval);
    }

    public OpenOptions withBackgroundCleaner(boolean on) {
        return new OpenOptions(clock, on, cleanerInterval);
    }

    public OpenOptions withCleanerInterval(Duration d) {
        return new OpenOptions(clock, backgroundCleaner, d);
    }
}
