package org.sls.slsd.capture;

import org.sls.slsd.checkpoint.CheckpointException;
import org.sls.slsd.linux.Errno;
import org.sls.slsd.linux.NativeException;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.ProcStat;
import org.sls.slsd.linux.Ptrace;
import org.sls.slsd.linux.WaitStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.sls.slsd.checkpoint.CheckpointException.Kind.*;

/**
 * Freezes a process tree (DESIGN section 3, step 2): PTRACE_SEIZE every thread, PTRACE_INTERRUPT,
 * wait for each stop, then re-scan threads (and children with {@code recursive}) until nothing new
 * appeared. A signal being delivered when the interrupt lands is passed on, never dropped. Each
 * stopped thread runs at realtime priority until the thaw ({@link FreezePriority}). Must run on the
 * thread that will thaw the tree. Stateless.
 */
public final class Freezer {
    private static final Logger log = LoggerFactory.getLogger(Freezer.class);
    /** PTRACE_O_TRACESYSGOOD: syscall stops are told apart from SIGTRAP. */
    private static final long OPTIONS = 1;

    private static volatile long timeoutNanos = 5_000_000_000L;

    private Freezer() {}

    /** How long a thread may take to stop before the freeze fails (default 5 s). */
    public static void timeout(java.time.Duration d) {
        timeoutNanos = d.toNanos();
    }

    /**
     * Freezes the tree. On failure every stopped thread is let go again; threads that were seized
     * but did not stop in time are added to {@code stragglers}, for {@link #releaseStragglers}.
     */
    public static FrozenTree freeze(List<Integer> roots, boolean recursive, java.util.Set<Integer> stragglers) {
        FrozenTree tree = new FrozenTree();
        Set<Integer> rootSet = new HashSet<>(roots);
        try {
            List<Integer> queue = new ArrayList<>(roots);
            // zombie children stay listed as children of their frozen parent: met once, not again
            Set<Integer> skipped = new HashSet<>();
            boolean changed = true;
            while (changed) {
                changed = false;
                for (int i = 0; i < queue.size(); i++) {
                    int pid = queue.get(i);
                    if (!tree.threads.containsKey(pid)) {
                        if (!addProcess(tree, pid, rootSet.contains(pid))) {
                            skipped.add(pid);
                            queue.remove(i--);
                            continue;
                        }
                        changed = true;
                    }
                    changed |= seizeNewThreads(tree, pid, rootSet.contains(pid));
                    if (recursive) {
                        for (int child : safeChildren(pid, tree.threads.get(pid))) {
                            if (!queue.contains(child) && !skipped.contains(child)) {
                                queue.add(child);
                                changed = true;
                            }
                        }
                    }
                }
            }
            return tree;
        } catch (RuntimeException e) {
            tree.thaw();
            stragglers.addAll(tree.stragglers);
            throw e;
        }
    }

    /** The children of the threads of {@code pid} seized so far (a thread seized later is looked at in the next pass). */
    private static List<Integer> safeChildren(int pid, List<Integer> tids) {
        try {
            return ProcFs.children(pid, tids);
        } catch (ProcFs.NoSuchProcessException e) {
            return List.of();
        }
    }

    private static boolean addProcess(FrozenTree tree, int pid, boolean root) {
        ProcStat st;
        try {
            st = ProcFs.stat(pid);
        } catch (ProcFs.NoSuchProcessException e) {
            if (root) {
                throw new CheckpointException(NO_SUCH_PROCESS, "pid " + pid + ": no such process");
            }
            return false;
        }
        if (st.exited()) {
            if (root) {
                throw new CheckpointException(NO_SUCH_PROCESS, "pid " + pid + " has exited (zombie)");
            }
            log.debug("skipping zombie child {}", pid);
            return false;
        }
        tree.threads.put(pid, new ArrayList<>());
        tree.states.put(pid, st.state());
        return true;
    }

    private static boolean seizeNewThreads(FrozenTree tree, int pid, boolean root) {
        List<Integer> have = tree.threads.get(pid);
        List<Integer> fresh = new ArrayList<>();
        List<Integer> tids;
        try {
            tids = ProcFs.tasks(pid);
        } catch (ProcFs.NoSuchProcessException e) {
            throw new CheckpointException(NO_SUCH_PROCESS, "pid " + pid + " exited during the checkpoint");
        }
        RuntimeException failure = null;
        for (int tid : tids) {
            if (have.contains(tid)) {
                continue;
            }
            try {
                if (seizeAndInterrupt(pid, tid)) {
                    have.add(tid);
                    fresh.add(tid);
                }
            } catch (RuntimeException e) {
                failure = e;
                break;
            }
        }
        for (int tid : fresh) {
            // wait for every seized thread even after a failure: only stopped tracees can be detached
            try {
                awaitInterruptStop(tree, pid, tid);
            } catch (RuntimeException e) {
                failure = failure == null ? e : failure;
            }
        }
        if (failure != null) {
            throw failure;
        }
        return !fresh.isEmpty();
    }

    /** Seizes and interrupts one thread; false when it is exiting or gone (not the main thread). */
    private static boolean seizeAndInterrupt(int pid, int tid) {
        if (tid == pid) {
            // only a main thread lingers as a zombie while the others run; other exiting threads
            // simply report their exit below
            try {
                if (ProcFs.taskStat(pid, tid).exited()) {
                    throw CheckpointException.unsupported(pid, "main thread exited while others run");
                }
            } catch (ProcFs.NoSuchProcessException e) {
                throw new CheckpointException(NO_SUCH_PROCESS, "pid " + pid + " exited during the checkpoint");
            }
        }
        try {
            Ptrace.seize(tid, OPTIONS);
        } catch (NativeException e) {
            if (e.errno() == Errno.ESRCH) {
                if (tid == pid) {
                    throw new CheckpointException(NO_SUCH_PROCESS, "pid " + pid + " exited during the checkpoint");
                }
                return false;
            }
            if (e.errno() == Errno.EPERM) {
                int tracer = safeTracer(tid);
                if (tracer != 0) {
                    throw new CheckpointException(ALREADY_TRACED, "pid " + pid + " is already traced by pid "
                            + tracer + " (" + ProcFs.commOrUnknown(tracer) + ")");
                }
                throw new CheckpointException(PERMISSION, "pid " + pid + ": " + e.getMessage());
            }
            throw new CheckpointException(INTERNAL, "pid " + pid + ": " + e.getMessage(), e);
        }
        try {
            Ptrace.interrupt(tid);
        } catch (NativeException e) {
            // it exited between seize and interrupt: the wait sees it
        }
        return true;
    }

    private static void awaitInterruptStop(FrozenTree tree, int pid, int tid) {
        long deadline = System.nanoTime() + timeoutNanos;
        while (true) {
            WaitStatus st;
            try {
                st = Ptrace.pollReport(pid, tid, 0, 2_000, deadline);
            } catch (ProcFs.NoSuchProcessException e) {
                // killed: a leader's death is reported only after its other threads', which the thaw reaps first
                throw new CheckpointException(NO_SUCH_PROCESS, "pid " + pid + " exited during the checkpoint");
            }
            if (st == null) {
                // seized and interrupted, but stuck (uninterruptible sleep, vfork): it will stop later
                tree.threads.get(pid).remove((Integer) tid);
                tree.stragglers.add(tid);
                char state = '?';
                try {
                    state = ProcFs.taskStat(pid, tid).state();
                } catch (RuntimeException e) {
                    // gone meanwhile
                }
                throw new CheckpointException(INTERNAL, "pid " + pid + " tid " + tid + " did not stop within "
                        + timeoutNanos / 1_000_000 + " ms (state " + state + ")");
            }
            if (st.gone()) {
                tree.threads.get(pid).remove((Integer) tid);
                if (tid == pid) {
                    throw new CheckpointException(NO_SUCH_PROCESS, "pid " + pid + " exited during the checkpoint");
                }
                return;
            }
            if (st.eventStop()) {
                tree.raise(tid); // stopped: the rest of the freeze runs it only for slsd's injected calls
                return;
            }
            if (st.signalDeliveryStop()) {
                // a signal was on its way: deliver it as the kernel would have; the interrupt stays pending
                Ptrace.cont(tid, st.stopSignal());
                continue;
            }
            Ptrace.cont(tid, 0);
        }
    }

    /**
     * Lets go of threads that did not stop in time once they do (or are gone); true when none is
     * left. Call it regularly on the freezing thread.
     */
    public static boolean releaseStragglers(java.util.Set<Integer> stragglers) {
        for (java.util.Iterator<Integer> it = stragglers.iterator(); it.hasNext(); ) {
            int tid = it.next();
            WaitStatus st;
            try {
                st = Ptrace.wait(tid, 1 /* WNOHANG */);
            } catch (NativeException e) {
                it.remove(); // ECHILD: not ours any more
                continue;
            }
            if (st == null) {
                continue;
            }
            if (st.gone()) {
                it.remove();
            } else if (st.eventStop()) {
                Ptrace.detach(tid, 0);
                it.remove();
                log.info("tid {} stopped late and was let go", tid);
            } else if (st.signalDeliveryStop()) {
                Ptrace.cont(tid, st.stopSignal());
            } else {
                Ptrace.cont(tid, 0);
            }
        }
        return stragglers.isEmpty();
    }

    private static int safeTracer(int pid) {
        try {
            return ProcFs.tracerPid(pid);
        } catch (RuntimeException e) {
            return 0;
        }
    }
}
