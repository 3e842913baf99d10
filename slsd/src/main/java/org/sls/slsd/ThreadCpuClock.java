package org.sls.slsd;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * slsd's own CPU time, as the CPU budget of periodic checkpoints counts it and {@code status}
 * shows it: the time of the JVM's threads that run slsd's code (the freezing thread, the fd and
 * memory readers, the store writer, the pipe-holder scan, the control server...), summed since the
 * clock was made. Not the JVM's compiler and collector threads: those are hidden from {@link
 * ThreadMXBean}, and the compiler's work is the warm-up of a new slsd (README, Benchmarks), not a
 * cost of each checkpoint. Nor the store's native RocksDB threads, a few percent of slsd's time
 * under load.
 *
 * <p>A thread that ended since the last reading loses what it ran after it; a thread's time is
 * counted from the first reading that sees it (its earlier time too). Thread-safe.
 */
final class ThreadCpuClock {
    /** How far back {@link #share} looks. */
    static final long WINDOW_NANOS = 10_000_000_000L;
    /** Readings closer together than this are not kept for {@link #share}. */
    private static final long SAMPLE_NANOS = 100_000_000L;

    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    private final int cores;
    private final Map<Long, Long> last = new HashMap<>();
    /** Readings as {clock ns, CPU ns}, oldest first: one at most {@link #WINDOW_NANOS} old or older, then newer ones. */
    private final ArrayDeque<long[]> readings = new ArrayDeque<>();
    private long total;

    /** @param cores the cores the machine gives slsd ({@link Runtime#availableProcessors}) */
    ThreadCpuClock(int cores) {
        this.cores = cores;
    }

    /** The cores counted in {@link #share}. */
    int cores() {
        return cores;
    }

    /** Whether the JVM measures threads' CPU time; without it {@link #nanos} is always -1. */
    boolean supported() {
        return threads.isThreadCpuTimeSupported() && threads.isThreadCpuTimeEnabled();
    }

    /** The CPU time of slsd's threads since this clock was made (ns), or -1 when it cannot be measured. */
    synchronized long nanos() {
        if (!supported()) {
            return -1;
        }
        long[] ids = threads.getAllThreadIds();
        Map<Long, Long> seen = new HashMap<>(ids.length * 2);
        for (long id : ids) {
            long t = threads.getThreadCpuTime(id);
            if (t < 0) {
                continue; // ended since the list was taken
            }
            Long before = last.get(id);
            total += Math.max(0, t - (before == null ? 0 : before));
            seen.put(id, t);
        }
        last.clear();
        last.putAll(seen);
        long now = System.nanoTime();
        if (readings.isEmpty() || now - readings.peekLast()[0] >= SAMPLE_NANOS) {
            readings.addLast(new long[] {now, total});
        }
        while (readings.size() > 2 && now - secondOldest()[0] >= WINDOW_NANOS) {
            readings.removeFirst();
        }
        return total;
    }

    private long[] secondOldest() {
        var it = readings.iterator();
        it.next();
        return it.next();
    }

    /**
     * The share of the machine's CPU time (all {@link #cores} counted) slsd's threads used since the
     * oldest reading kept, about {@link #WINDOW_NANOS} ago (since the first one when it is younger):
     * 0.05 is 5%. 0 before two readings, or when the JVM cannot measure.
     */
    synchronized double share() {
        long cpu = nanos();
        if (cpu < 0 || readings.size() < 2) {
            return 0;
        }
        long[] oldest = readings.peekFirst();
        long elapsed = System.nanoTime() - oldest[0];
        return elapsed <= 0 ? 0 : (double) (cpu - oldest[1]) / ((double) elapsed * cores);
    }
}
