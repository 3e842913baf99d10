package org.sls.slsd.linux;

import jnr.ffi.Pointer;

import static org.sls.slsd.linux.LinuxSyscalls.*;

/**
 * Scheduling policies of threads, through sched_getscheduler(2) and sched_setscheduler(2). A policy
 * changed there and set back keeps everything else the thread had: its nice value, its
 * SCHED_RESET_ON_FORK flag (carried in the policy), its EEVDF slice and its utilization clamps.
 * Stateless, thread-safe.
 */
public final class Sched {
    public static final int SCHED_OTHER = 0, SCHED_FIFO = 1, SCHED_RR = 2, SCHED_BATCH = 3, SCHED_IDLE = 5,
            SCHED_DEADLINE = 6;
    /** Or'ed into a policy: the thread's children start with the default policy (sched(7)). */
    public static final int SCHED_RESET_ON_FORK = 0x40000000;

    private static final ThreadLocal<Pointer> PARAM = ThreadLocal.withInitial(() -> Sys.alloc(8));

    private Sched() {}

    /** sched_getscheduler(tid), 0 for the calling thread: the policy, with SCHED_RESET_ON_FORK when set. */
    public static int policy(int tid) {
        return (int) Sys.call("sched_getscheduler", "tid " + tid, SYS_SCHED_GETSCHEDULER, tid, 0, 0);
    }

    /**
     * sched_setscheduler(tid, policy, {priority}), 0 for the calling thread. {@code priority} is 1 to
     * 99 for SCHED_FIFO and SCHED_RR, 0 for the others.
     */
    public static void setPolicy(int tid, int policy, int priority) {
        Pointer p = PARAM.get();
        p.putInt(0, priority);
        Sys.call("sched_setscheduler", "tid " + tid + ", policy " + Integer.toHexString(policy) + ", priority " + priority,
                SYS_SCHED_SETSCHEDULER, tid, policy, p.address());
    }

    /** Whether {@code policy} (SCHED_RESET_ON_FORK or not) is one of the fair class's: SCHED_OTHER, SCHED_BATCH, SCHED_IDLE. */
    public static boolean fair(int policy) {
        int p = policy & ~SCHED_RESET_ON_FORK;
        return p == SCHED_OTHER || p == SCHED_BATCH || p == SCHED_IDLE;
    }
}
