package org.sls.slos;

import java.time.Clock;
import java.time.Duration;

/** Placeholder. */
final class CleanerScheduler {
    CleanerScheduler(Engine e, Clock c, Duration d) {}
    void start() {}
    void stop() {}
}
