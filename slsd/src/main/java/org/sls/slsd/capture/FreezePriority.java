package org.sls.slsd.capture;

import org.sls.slsd.linux.Errno;
import org.sls.slsd.linux.NativeException;
import org.sls.slsd.linux.Sched;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Realtime priority for the threads a freeze waits on ({@code freeze.realtime}, on by default):
 * slsd's freezing thread and its readers, and the frozen threads themselves, which run slsd's
 * injected calls. They run at SCHED_FIFO priority {@value #PRIORITY} from the moment the freeze
 * needs them until the thaw, and so are not kept waiting for a core behind the very load the
 * freeze holds up (on two cores under redis-benchmark, the median freeze of redis went from about
 * 8.6 to 5.3 ms: README, Benchmarks). Raise and lower side by side:
 * <ul>
 *   <li>{@link #raise} keeps the policy the thread had, for {@link #lower} to put back before the
 *       thread runs its own code again: the same policy, with its nice value, SCHED_RESET_ON_FORK,
 *       slice and clamps (see {@link Sched});</li>
 *   <li>a thread already realtime (SCHED_FIFO, SCHED_RR, SCHED_DEADLINE) is left as it is, however
 *       low its priority: the freeze never lowers anyone;</li>
 *   <li>a raise the kernel refuses (no CAP_SYS_NICE, or a cgroup without realtime runtime) leaves
 *       the thread as it was and the freeze goes on at normal priority: said once in the log.</li>
 * </ul>
 * Nothing of a target runs at realtime priority but slsd's injected calls: a target thread is raised
 * only once it is in its interrupt stop, and lowered before it is let go. A slsd killed in between
 * leaves it realtime, as it would leave it traced mid-injection: the freeze's window is the risk.
 *
 * <p>Holds the switch, and for each of slsd's threads what {@link #raiseSelf} changed. Thread-safe.
 */
public final class FreezePriority {
    private static final Logger log = LoggerFactory.getLogger(FreezePriority.class);
    /** The lowest realtime priority: above every fair thread, below every realtime one. */
    public static final int PRIORITY = 1;
    /** What {@link #raise} returns for a thread it left as it was. */
    public static final int UNCHANGED = -1;

    private static volatile boolean enabled = true;
    private static final AtomicBoolean refusalLogged = new AtomicBoolean();
    /** What {@link #raiseSelf} found on this thread, until {@link #lowerSelf}. */
    private static final ThreadLocal<Integer> SELF = new ThreadLocal<>();

    private FreezePriority() {}

    /** Turns raising on or off ({@code freeze.realtime}); threads raised meanwhile are still lowered. */
    public static void enabled(boolean on) {
        enabled = on;
    }

    /**
     * Raises thread {@code tid} (0: the calling thread) to SCHED_FIFO {@value #PRIORITY}. Returns the
     * policy to give {@link #lower}, or {@link #UNCHANGED} when the thread was left as it was:
     * raising off, already realtime, gone, or refused.
     */
    public static int raise(int tid) {
        if (!enabled) {
            return UNCHANGED;
        }
        try {
            int before = Sched.policy(tid);
            if (!Sched.fair(before)) {
                return UNCHANGED;
            }
            Sched.setPolicy(tid, Sched.SCHED_FIFO | (before & Sched.SCHED_RESET_ON_FORK), PRIORITY);
            return before;
        } catch (NativeException e) {
            if (e.errno() != Errno.ESRCH && refusalLogged.compareAndSet(false, true)) {
                log.info("realtime priority refused for a freeze ({}): such threads freeze at normal priority; "
                        + "freeze.realtime = off stops trying", e.getMessage());
            }
            return UNCHANGED;
        }
    }

    /**
     * Raises the calling thread (one of slsd's) as {@link #raise} does; {@link #lowerSelf} puts it
     * back. Raising a thread already raised this way changes nothing.
     */
    public static void raiseSelf() {
        if (SELF.get() == null) {
            SELF.set(raise(0));
        }
    }

    /** Puts back what {@link #raiseSelf} changed on the calling thread; nothing when it did not run, or ran since. */
    public static void lowerSelf() {
        Integer before = SELF.get();
        if (before != null) {
            SELF.remove();
            lower(0, before);
        }
    }

    /**
     * {@code task}, to run raised on whichever thread runs it (a reader of a frozen partition, on a
     * pool's thread), lowered again when it returns or throws.
     */
    public static <T> Callable<T> raised(Callable<T> task) {
        return () -> {
            raiseSelf();
            try {
                return task.call();
            } finally {
                lowerSelf();
            }
        };
    }

    /** Puts back the policy {@link #raise} returned for {@code tid}; nothing for {@link #UNCHANGED} or a thread gone. */
    public static void lower(int tid, int policy) {
        if (policy == UNCHANGED) {
            return;
        }
        try {
            Sched.setPolicy(tid, policy, 0);
        } catch (NativeException e) {
            if (e.errno() != Errno.ESRCH) {
                throw e;
            }
        }
    }
}
