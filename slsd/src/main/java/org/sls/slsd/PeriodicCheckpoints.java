package org.sls.slsd;

import org.sls.libsls.protocol.ErrorCode;
import org.sls.libsls.protocol.SlsException;
import org.sls.slos.PartitionRecord;
import org.sls.slos.Slos;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Checkpoints every partition that has a period, without anyone asking (Aurora's periodic
 * checkpoints). One thread per such partition: it starts a checkpoint every period. The loop waits
 * only for the capture (the processes running again); the store writes go on behind it, so the next
 * checkpoint can freeze and stage while the previous one is still being written (pipelining). When
 * the store cannot keep up, the staging memory of the checkpoints waiting to be written reaches its
 * bound ({@code staging.max.bytes}, or a few checkpoints per partition) and the next capture waits:
 * the period stretches instead of memory growing (back-pressure), and {@link #effectivePeriodMs}
 * shows by how much. The period also stretches to keep the processes frozen at most a share of the
 * time ({@code frozen.share.max}, 5% by default: a checkpoint that froze them 5 ms is followed by
 * the next one 100 ms later at the earliest), so that a server checkpointed more often than its
 * size allows still serves. And it stretches to keep slsd's own CPU time at most a share of the
 * machine's ({@code cpu.share.max}, 5% of all cores by default): the capture and the store writes
 * take the cores the server and its clients would have had, and under load they cost a server more
 * than its freezes do. That budget is slsd's, not a partition's: each loop spaces its checkpoints
 * so that the CPU time of slsd's threads between two of them ({@link ThreadCpuClock}), whatever
 * spent it, stays within the share of the time between them.
 * {@link #stretchedBy} says which of the three held the period back.
 * Periodic checkpoints include every descendant of the attached processes. A checkpoint
 * that keeps failing is retried with a growing delay (up to 5 s), and status counts the failures.
 * Thread-safe.
 */
public final class PeriodicCheckpoints implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PeriodicCheckpoints.class);
    /** Weight of the newest interval in the moving average of the achieved period. */
    private static final double EWMA = 0.2;
    /** Longest wait between attempts while the same failure repeats (a refused fd does not go away by itself). */
    private static final long MAX_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(5);

    /** The longest the CPU budget stretches one interval: slsd busy with something else does not stop checkpoints. */
    private static final long MAX_CPU_WAIT_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final Slos store;
    private final Partitions partitions;
    private final ProcessOps processes;
    private final Map<String, Loop> loops = new HashMap<>();
    private final double frozenShareMax;
    /** The CPU time slsd may use per unit of clock time: {@code cpu.share.max} of all cores; 0 for no bound. */
    private final double cpuNanosPerNano;
    private final ThreadCpuClock cpuClock;

    /**
     * With the largest share of the time ({@code (0, 1]}, 1 for no bound) the processes may spend
     * frozen, and the largest share of the machine's CPU time slsd may use (same range).
     */
    public PeriodicCheckpoints(Slos store, Partitions partitions, ProcessOps processes, double frozenShareMax,
                               double cpuShareMax, ThreadCpuClock cpuClock) {
        if (!(frozenShareMax > 0 && frozenShareMax <= 1)) {
            throw new IllegalArgumentException("frozen.share.max must be above 0 and at most 1, not " + frozenShareMax);
        }
        if (!(cpuShareMax > 0 && cpuShareMax <= 1)) {
            throw new IllegalArgumentException("cpu.share.max must be above 0 and at most 1, not " + cpuShareMax);
        }
        this.store = store;
        this.partitions = partitions;
        this.processes = processes;
        this.frozenShareMax = frozenShareMax;
        this.cpuNanosPerNano = cpuShareMax >= 1 || !cpuClock.supported() ? 0 : cpuShareMax * cpuClock.cores();
        this.cpuClock = cpuClock;
    }

    /** Starts a loop for every partition with a period and stops loops whose partition is gone. */
    public synchronized void sync() {
        Map<String, Long> wanted = new HashMap<>();
        for (PartitionRecord r : partitions.visible()) {
            if (r.periodMs() > 0) {
                wanted.put(r.name(), r.periodMs());
            }
        }
        loops.entrySet().removeIf(e -> {
            Long period = wanted.get(e.getKey());
            if (period == null || period != e.getValue().periodMs) {
                e.getValue().stop();
                return true;
            }
            return false;
        });
        wanted.forEach((name, period) -> loops.computeIfAbsent(name, n -> {
            Loop l = new Loop(n, period);
            l.thread.start();
            log.info("partition {}: checkpoints every {} ms", n, period);
            return l;
        }));
    }

    /**
     * Stops the partition's loop, waiting for a capture in flight (before deleting the partition;
     * its store writes are waited for by the caller).
     */
    public synchronized void stop(String partition) {
        Loop l = loops.remove(partition);
        if (l != null) {
            l.stop();
        }
    }

    /** The period achieved lately (ms), 0 when the partition has no period or no checkpoint yet. */
    public synchronized double effectivePeriodMs(String partition) {
        Loop l = loops.get(partition);
        return l == null ? 0 : l.effectiveMs;
    }

    /**
     * Why the period achieved lately is longer than asked: "frozen-time budget", "CPU budget",
     * "checkpoint time" (captures or store writes take longer), "backoff after failures" (a
     * failing checkpoint is retried less and less often), or "" when it is not.
     */
    public synchronized String stretchedBy(String partition) {
        Loop l = loops.get(partition);
        if (l == null || l.effectiveMs <= l.periodMs * 1.1) {
            return "";
        }
        return l.boundBy;
    }

    /** Stops every loop; a checkpoint in flight finishes first. */
    @Override
    public synchronized void close() {
        loops.values().forEach(Loop::stop);
        loops.clear();
    }

    private final class Loop implements Runnable {
        final String name;
        final long periodMs;
        final Thread thread;
        volatile boolean running = true;
        volatile boolean checkpointing;
        volatile double effectiveMs;
        /** Moving average of the frozen time of the checkpoints made durable (ns), 0 before the first. */
        volatile double frozenNanos;
        /** Moving average of slsd's CPU time between two starts of this loop's checkpoints (ns). */
        double cpuNanos;
        /** What set the start of the next checkpoint: a budget, or "checkpoint time" when neither did. */
        volatile String boundBy = "checkpoint time";
        private String lastLogged = "";

        Loop(String name, long periodMs) {
            this.name = name;
            this.periodMs = periodMs;
            this.thread = new Thread(this, "sls-period-" + name);
            this.thread.setDaemon(true);
        }

        @Override
        public void run() {
            long periodNanos = TimeUnit.MILLISECONDS.toNanos(periodMs);
            long next = System.nanoTime() + periodNanos;
            long lastStart = 0;
            long lastCpu = -1;
            long backoff = 0;
            while (running) {
                if (!sleepUntil(next)) {
                    return;
                }
                long start = System.nanoTime();
                if (processes.engine().attached(name).isEmpty()) {
                    next = start + periodNanos; // nothing to checkpoint yet: not a failure
                    lastStart = 0;
                    lastCpu = -1;
                    continue;
                }
                long cpu = cpuNanosPerNano > 0 ? cpuClock.nanos() : -1;
                if (cpu >= 0 && lastCpu >= 0) {
                    double spent = cpu - lastCpu;
                    cpuNanos = cpuNanos == 0 ? spent : (1 - EWMA) * cpuNanos + EWMA * spent;
                }
                lastCpu = cpu;
                checkpointing = true;
                boolean failed = true;
                try {
                    processes.checkpointAsync(name, true, false).whenComplete((r, e) -> {
                        if (r != null) {
                            double f = r.frozenMicros() * 1000.0;
                            frozenNanos = frozenNanos == 0 ? f : (1 - EWMA) * frozenNanos + EWMA * f;
                        }
                        if (e != null) {
                            Throwable c = e.getCause() != null && !(e instanceof SlsException) ? e.getCause() : e;
                            if (nothingLeft(c)) {
                                return; // taken again after a refused commit, once the processes had gone
                            }
                            partitions.stats(name).recordFailure(String.valueOf(c.getMessage()));
                            log.warn("partition {}: periodic checkpoint failed in the store: {}", name, c.getMessage());
                        }
                    });
                    failed = false;
                    lastLogged = "";
                } catch (SlsException | IllegalStateException e) {
                    if (nothingLeft(e)) {
                        continue;
                    }
                    partitions.stats(name).recordFailure(e.getMessage());
                    if (!e.getMessage().equals(lastLogged)) {
                        log.warn("partition {}: periodic checkpoint failed: {}", name, e.getMessage());
                        lastLogged = e.getMessage();
                    }
                    log.debug("partition {}: periodic checkpoint failed", name, e);
                } catch (RuntimeException e) {
                    partitions.stats(name).recordFailure(String.valueOf(e.getMessage()));
                    log.error("partition {}: periodic checkpoint failed", name, e);
                } finally {
                    checkpointing = false;
                }
                if (lastStart != 0) {
                    double interval = (start - lastStart) / 1e6;
                    effectiveMs = effectiveMs == 0 ? interval : (1 - EWMA) * effectiveMs + EWMA * interval;
                }
                lastStart = start;
                // a failure that repeats is retried less and less often, so that a process holding
                // something sls refuses is not frozen over and over for nothing
                backoff = failed ? Math.min(MAX_BACKOFF_NANOS, backoff == 0 ? periodNanos : backoff * 2) : 0;
                // frozen f out of every f / share at most; slsd's CPU time c out of every c / (share * cores)
                long frozenBudget = frozenShareMax >= 1 ? 0 : (long) (frozenNanos / frozenShareMax);
                long cpuBudget = cpuNanosPerNano == 0 ? 0
                        : (long) Math.min(MAX_CPU_WAIT_NANOS, cpuNanos / cpuNanosPerNano);
                long wait = Math.max(periodNanos + backoff, Math.max(frozenBudget, cpuBudget));
                boundBy = wait > periodNanos && wait == periodNanos + backoff ? "backoff after failures"
                        : wait == periodNanos ? "checkpoint time"
                        : frozenBudget >= cpuBudget ? "frozen-time budget" : "CPU budget";
                next = Math.max(start + wait, System.nanoTime());
            }
        }

        /**
         * Whether {@code e} says the partition had no live process, and none is attached now: its
         * processes exited, or were detached, since the loop looked. Nothing to checkpoint is no
         * failure; the loop waits for a process to be attached or restored.
         */
        private boolean nothingLeft(Throwable e) {
            if (e instanceof SlsException se && se.code() == ErrorCode.NOT_FOUND
                    && processes.engine().attached(name).isEmpty()) {
                log.info("partition {}: no live process left to checkpoint ({})", name, e.getMessage());
                return true;
            }
            return false;
        }

        private boolean sleepUntil(long deadline) {
            long left;
            while (running && (left = deadline - System.nanoTime()) > 0) {
                try {
                    TimeUnit.NANOSECONDS.sleep(left);
                } catch (InterruptedException e) {
                    return false;
                }
            }
            return running;
        }

        void stop() {
            running = false;
            if (!checkpointing) {
                thread.interrupt(); // wakes a sleeping loop; a checkpoint in flight is left to finish
            }
            try {
                thread.join(TimeUnit.SECONDS.toMillis(60));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
