package org.sls.slos;

/**
 * Called before each numbered step of the commit protocol, of epoch deletion and of the cleaner, so that a test can
 * stop the protocol there (by throwing) and inspect what a crash at that point leaves behind.
 * Production code uses {@link #NONE}. Implementations must be thread-safe.
 */
@FunctionalInterface
interface StepHook {
    StepHook NONE = (protocol, step) -> { };

    /** {@code protocol} is "commit", "delete" or "cleaner"; {@code step} is the number in its Javadoc. */
    void before(String protocol, int step);
}
