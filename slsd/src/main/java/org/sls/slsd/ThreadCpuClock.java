package org.sls.slsd;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.HashMap;
import java.util.Map;

/**
 * slsd's own CPU time, as the CPU budget of periodic checkpoints counts it: the time of the JVM's
 * threads that run slsd's code (the freezing thread, the fd and memory readers, the store writer,
 * the pipe-holder scan, the control server...), summed since the clock was made. Not the JVM's
 * compiler and collector threads: those are hidden from {@link ThreadMXBean}, and the compiler's
 * work is the warm-up of a new slsd (README, Benchmarks), not a cost of each checkpoint. Nor the
 * store's native RocksDB threads, a few percent of slsd's time under load.
 *
 * <p>A thread that ended since the last reading loses what it ran after it; a thread's time is
 * counted from the first reading that sees it (its earlier time too). Thread-safe.
 */
final class ThreadCpuClock {
    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    private final Map<Long, Long> last = new HashMap<>();
    private long total;

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
        return total;
    }
}
