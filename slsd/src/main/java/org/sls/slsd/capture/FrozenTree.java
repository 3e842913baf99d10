package org.sls.slsd.capture;

import org.sls.slsd.linux.Ptrace;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Processes whose every thread is seized and in a ptrace interrupt stop, in tree order (parents
 * first). {@link #thaw()} detaches every thread so each resumes exactly where it stopped, with the
 * scheduling policy it had (see {@link FreezePriority}); it is idempotent and must run on the thread
 * that froze the tree. Not thread-safe.
 */
public final class FrozenTree implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(FrozenTree.class);
    final Map<Integer, List<Integer>> threads = new LinkedHashMap<>();
    final Map<Integer, Character> states = new LinkedHashMap<>();
    final java.util.Set<Integer> stragglers = new java.util.HashSet<>();
    /** Threads raised to realtime priority while stopped, with the policy each had (see {@link FreezePriority}). */
    private final Map<Integer, Integer> raised = new java.util.HashMap<>();
    private final long frozenAt = System.nanoTime();
    private long thawedAt;
    private boolean thawed;

    /**
     * Threads seized but not stopped in time (a failed freeze): still traced; hand them to
     * {@link Freezer#releaseStragglers} until they are let go.
     */
    public java.util.Set<Integer> stragglers() { return stragglers; }

    /** Pids in the tree, parents first. */
    public List<Integer> pids() { return new ArrayList<>(threads.keySet()); }

    /** Seized thread ids of one process. */
    public List<Integer> threads(int pid) { return threads.get(pid); }

    /** The /proc state letter the process had when it was frozen (T = job-control stopped). */
    public char stateBefore(int pid) { return states.getOrDefault(pid, 'S'); }

    /** Raises {@code tid}, stopped, to realtime priority until the thaw (see {@link FreezePriority}). */
    void raise(int tid) {
        int before = FreezePriority.raise(tid);
        if (before != FreezePriority.UNCHANGED) {
            raised.put(tid, before);
        }
    }

    /** Whether {@link #thaw()} ran. */
    public boolean thawed() { return thawed; }

    /** Detaches every thread; returns how long the tree was frozen, in microseconds. */
    public long thaw() {
        if (!thawed) {
            thawed = true;
            List<Integer> pids = pids();
            List<Integer> dead = new ArrayList<>();
            for (int i = pids.size() - 1; i >= 0; i--) {
                for (int tid : threads.get(pids.get(i))) {
                    Integer policy = raised.remove(tid);
                    if (policy != null) {
                        try {
                            FreezePriority.lower(tid, policy); // before it runs a single instruction of its own
                        } catch (RuntimeException e) {
                            log.warn("tid {}: scheduling policy {} not put back: {}", tid, policy, e.getMessage());
                        }
                    }
                    try {
                        if (!Ptrace.detach(tid, 0)) {
                            dead.add(tid);
                        }
                    } catch (RuntimeException e) {
                        log.warn("detaching tid {}: {}", tid, e.getMessage());
                    }
                }
            }
            // Killed while frozen: the deaths are reported to slsd, the tracer, first, and the real
            // parent can reap a process only once slsd has waited for them. A thread-group leader is
            // reported only after its other threads, so those are waited for first.
            dead.sort((a, b) -> Boolean.compare(pids.contains(a), pids.contains(b)));
            for (int tid : dead) {
                if (Ptrace.reapIfGone(tid, 1000)) {
                    log.info("tid {} died while frozen", tid);
                } else {
                    log.warn("tid {} could not be detached, and no death of it was reported within 1 s: if it dies,"
                            + " slsd's reaper waits for it", tid);
                }
            }
            thawedAt = System.nanoTime();
        }
        return (thawedAt - frozenAt) / 1000;
    }

    @Override
    public void close() {
        thaw();
    }
}
