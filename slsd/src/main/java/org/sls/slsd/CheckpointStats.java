package org.sls.slsd;

import java.util.Arrays;

/**
 * Checkpoint statistics of one partition since slsd started: count and frozen times (last,
 * median, max over a sliding window). Thread-safe.
 */
public final class CheckpointStats {
    private static final int WINDOW = 1024;

    private final long[] frozen = new long[WINDOW];
    private long count;
    private long last;
    private long max;

    /** Records one checkpoint that kept its processes frozen for {@code frozenMicros}. */
    public synchronized void record(long frozenMicros) {
        frozen[(int) (count % WINDOW)] = frozenMicros;
        count++;
        last = frozenMicros;
        max = Math.max(max, frozenMicros);
    }

    public synchronized long count() {
        return count;
    }

    public synchronized long lastMicros() {
        return last;
    }

    public synchronized long maxMicros() {
        return max;
    }

    /** Median over the newest {@value #WINDOW} checkpoints, 0 when none. */
    public synchronized long medianMicros() {
        int n = (int) Math.min(count, WINDOW);
        if (n == 0) {
            return 0;
        }
        long[] copy = Arrays.copyOf(frozen, n);
        Arrays.sort(copy);
        return copy[n / 2];
    }
}
