package org.sls.slsd;

import java.util.Arrays;

/**
 * Checkpoint statistics of one partition since slsd started: count, frozen times (last, median,
 * p99, max), bytes per checkpoint, time from resume to durable, and the rate achieved over the
 * last {@value #RATE_WINDOW_SECONDS} seconds. Percentiles are over the newest {@value #WINDOW}
 * checkpoints. Thread-safe.
 */
public final class CheckpointStats {
    private static final int WINDOW = 1024;
    private static final int RATE_WINDOW_SECONDS = 10;

    private final long[] frozen = new long[WINDOW];
    private final long[] durable = new long[WINDOW];
    private final long[] bytes = new long[WINDOW];
    private final long[] at = new long[WINDOW];
    private long count;
    private long failures;
    private long last;
    private long max;
    private String lastFailure = "";

    /** Records one committed checkpoint. */
    public synchronized void record(long frozenMicros, long bytesWritten, long commitMicros) {
        int i = (int) (count % WINDOW);
        frozen[i] = frozenMicros;
        durable[i] = commitMicros;
        bytes[i] = bytesWritten;
        at[i] = System.nanoTime();
        count++;
        last = frozenMicros;
        max = Math.max(max, frozenMicros);
    }

    /** Records a checkpoint that failed (periodic ones report here, there is no caller to tell). */
    public synchronized void recordFailure(String message) {
        failures++;
        lastFailure = message;
    }

    /** A consistent copy of the figures. */
    public synchronized Snapshot snapshot() {
        int n = (int) Math.min(count, WINDOW);
        long now = System.nanoTime();
        long recent = 0;
        for (int i = 0; i < n; i++) {
            if (now - at[i] <= RATE_WINDOW_SECONDS * 1_000_000_000L) {
                recent++;
            }
        }
        return new Snapshot(count, failures, lastFailure, last, percentile(frozen, n, 50), percentile(frozen, n, 99), max,
                n == 0 ? 0 : Arrays.stream(bytes, 0, n).sum() / n, percentile(durable, n, 50),
                (double) recent / RATE_WINDOW_SECONDS);
    }

    private static long percentile(long[] values, int n, int pct) {
        if (n == 0) {
            return 0;
        }
        long[] copy = Arrays.copyOf(values, n);
        Arrays.sort(copy);
        return copy[Math.min(n - 1, (int) Math.ceil(pct / 100.0 * n) - 1)];
    }

    /**
     * The figures at one moment. Immutable.
     *
     * @param count              checkpoints committed
     * @param failures           checkpoints that failed
     * @param lastFailure        message of the last failure, empty when none
     * @param lastMicros         frozen time of the last checkpoint
     * @param medianMicros       median frozen time
     * @param p99Micros          99th percentile frozen time
     * @param maxMicros          longest frozen time
     * @param bytesPerCheckpoint mean bytes written per checkpoint
     * @param durableMedianMicros median time from resume to durable
     * @param perSecond          checkpoints per second over the last 10 seconds
     */
    public record Snapshot(long count, long failures, String lastFailure, long lastMicros, long medianMicros, long p99Micros,
                           long maxMicros, long bytesPerCheckpoint, long durableMedianMicros, double perSecond) {
    }
}
