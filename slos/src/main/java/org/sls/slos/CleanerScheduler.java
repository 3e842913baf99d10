package org.sls.slos;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cleaner's thread: wakes every interval, asks {@link CleanerPolicy} whether to run, and runs
 * one {@link Cleaner} pass. Thread-safe (start/stop from any thread).
 */
final class CleanerScheduler {
    private static final Logger log = LoggerFactory.getLogger(CleanerScheduler.class);

    private final Engine eng;
    private final Clock clock;
    private final Duration interval;
    private final CleanerPolicy policy = CleanerPolicy.defaults();
    private volatile boolean running;
    private Thread thread;
    private Instant lastRun;

    CleanerScheduler(Engine eng, Clock clock, Duration interval) {
        this.eng = eng;
        this.clock = clock;
        this.interval = interval;
    }

    synchronized void start() {
        running = true;
        thread = new Thread(this::loop, "slos-cleaner " + eng.name);
        thread.setDaemon(true);
        thread.start();
    }

    private void loop() {
        while (running) {
            synchronized (this) {
                try {
                    // wait, not interrupt: an interrupt inside FileChannel I/O would close the store's channel
                    wait(interval.toMillis());
                } catch (InterruptedException e) {
                    return;
                }
            }
            if (!running) {
                return;
            }
            try {
                Instant now = clock.instant();
                if (policy.shouldRun(eng.usage(), now, lastRun)) {
                    lastRun = now;
                    Cleaner.Report r = new Cleaner(eng).clean(Cleaner.Selection.sparse());
                    if (r.segmentsFreed() > 0) {
                        log.info("store {}: cleaner freed {} segments, moved {} pages", eng.name, r.segmentsFreed(), r.pagesMoved());
                    }
                }
            } catch (StoreException e) {
                log.warn("store {}: cleaner pass failed: {}", eng.name, e.getMessage());
            }
        }
    }

    void stop() {
        Thread t;
        synchronized (this) {
            running = false;
            t = thread;
            notifyAll();
        }
        if (t != null) {
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
