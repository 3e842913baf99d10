package org.sls.slsd.restore;

import org.sls.slos.EpochInfo;
import org.sls.slos.ObjectReader;
import org.sls.slos.Slos;
import org.sls.slos.StoreException;
import org.sls.slsd.checkpoint.manifest.Manifest;
import org.sls.slsd.checkpoint.manifest.ManifestCodec;
import org.sls.slsd.linux.KernelFeatures;
import org.sls.slsd.linux.Reaper;
import org.sls.slsd.resources.Terminal;
import org.sls.slsd.restore.RestoreException.Kind;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Collectors;

/**
 * The restore engine (DESIGN section 4, issue 5): brings every process of a partition back as of
 * a committed epoch, with its tree, threads, memory and kernel state, under its original PIDs or
 * fresh ones. Each restore runs start to end on a thread of its own, which becomes the tracer of
 * every husk (ptrace ties tracees to a thread) and stops being one when the processes run.
 *
 * <p>Thread-safe: restores of different partitions run in parallel, restores of one partition one
 * at a time. A restore that fails kills the processes it created, leaves the store untouched and
 * throws a {@link RestoreException} naming the step and the thing.
 */
public final class RestoreEngine implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RestoreEngine.class);

    private final Slos store;
    private final KernelFeatures features;
    private final Reaper reaper;
    private final boolean ownReaper;
    private final Map<String, ReentrantLock> locks = new ConcurrentHashMap<>();
    /** Per partition, the terminals slsd keeps for restored processes (their masters), newest last. */
    private final Map<String, List<Terminal>> terminals = new ConcurrentHashMap<>();

    public RestoreEngine(Slos store, KernelFeatures features) {
        this(store, features, null);
    }

    /** With the daemon's {@link Reaper}: restored roots are slsd's children and it reaps them. */
    public RestoreEngine(Slos store, KernelFeatures features, Reaper reaper) {
        this.store = store;
        this.features = features;
        this.ownReaper = reaper == null;
        this.reaper = reaper == null ? new Reaper() : reaper;
    }

    /**
     * Restores every process of the partition as of {@code epoch} (0 = newest committed).
     *
     * @param stopped    leave them stopped (SIGSTOP'd, detached) for a debugger
     * @param newPids    fresh PIDs instead of the original ones (restores beside the original)
     * @param callerUid  the requesting user; non-root callers may restore only their own processes
     * @return once the processes run (or are stopped)
     */
    public RestoreResult restore(String partition, long epoch, boolean stopped, boolean newPids, int callerUid) {
        return restore(partition, epoch, stopped, newPids, callerUid, false);
    }

    /**
     * As {@link #restore(String, long, boolean, boolean, int)}; with {@code lockHeld}, the network
     * lock that {@code checkpoint --kill} put on the epoch's connections to peers outside the
     * partition still stands, and those connections are repaired (TCP_REPAIR) instead of coming
     * back closed. The caller lifts the lock once this returns.
     */
    public RestoreResult restore(String partition, long epoch, boolean stopped, boolean newPids, int callerUid,
                                 boolean lockHeld) {
        return restoreTracked(partition, epoch, stopped, newPids, callerUid, lockHeld);
    }

    private volatile org.sls.slsd.checkpoint.LongOperations operations = new org.sls.slsd.checkpoint.LongOperations();

    /** Where restores report their progress (the daemon's registry, shared with the checkpoint engine). */
    public void operations(org.sls.slsd.checkpoint.LongOperations operations) {
        this.operations = operations;
    }

    private RestoreResult restoreTracked(String partition, long epoch, boolean stopped, boolean newPids, int callerUid,
                                         boolean lockHeld) {
        long t0 = System.nanoTime();
        if (!newPids && !features.clone3SetTid()) {
            throw new RestoreException(Kind.UNSUPPORTED, "restore of partition " + partition
                    + ": clone3 with set_tid is unavailable (kernel or CAP_CHECKPOINT_RESTORE); use new PIDs");
        }
        ReentrantLock lock = locks.computeIfAbsent(partition, k -> new ReentrantLock());
        lock.lock();
        try {
            long e = resolve(partition, epoch);
            Manifest m;
            ObjectReader reader;
            try {
                m = ManifestCodec.decode(store.readBlob(partition, e, Manifest.BLOB));
                reader = store.reader(partition, e);
            } catch (StoreException ex) {
                throw new RestoreException(ex.kind() == StoreException.Kind.NOT_FOUND ? Kind.NOT_FOUND : Kind.INTERNAL,
                        "restore of partition " + partition + " epoch " + e + ": " + ex.getMessage(), ex);
            } catch (RuntimeException ex) {
                throw new RestoreException(Kind.INTERNAL, "restore of partition " + partition + " epoch " + e
                        + ": manifest: " + ex.getMessage(), ex);
            }
            if (m.processes().isEmpty()) {
                throw new RestoreException(Kind.NOT_FOUND, "partition " + partition + " epoch " + e + " holds no process");
            }
            RestoreRun run = new RestoreRun(partition, m, reader, stopped, newPids, reaper);
            run.lockHeld = lockHeld;
            RestoreResult r;
            try (org.sls.slsd.checkpoint.LongOperations.Operation op = operations.begin(partition, "restore")) {
                op.stage("rebuilding", 0);
                run.progress = op;
                r = onOwnThread(partition, () -> run.run(callerUid, t0));
            }
            if (!run.terminals.isEmpty()) {
                terminals(partition); // closes those of earlier restores whose processes have ended
                terminals.computeIfAbsent(partition, k -> new CopyOnWriteArrayList<>()).addAll(run.terminals);
                log.info("partition {}: slsd keeps terminals {} (slsctl console -o {})", partition, run.terminals, partition);
            }
            log.info("partition {} epoch {} restored: pids {} in {} us (read {} us, write {} us, inject {} us)",
                    partition, e, r.pidMap(), r.totalMicros(), r.readMicros(), r.writeMicros(), r.injectMicros());
            return r;
        } finally {
            lock.unlock();
        }
    }

    private long resolve(String partition, long epoch) {
        List<EpochInfo> epochs;
        try {
            if (store.partition(partition).isEmpty()) {
                throw new RestoreException(Kind.NOT_FOUND, "partition " + partition + " does not exist");
            }
            epochs = store.epochs(partition);
        } catch (StoreException ex) {
            throw new RestoreException(Kind.NOT_FOUND, "partition " + partition + ": " + ex.getMessage(), ex);
        }
        if (epochs.isEmpty()) {
            throw new RestoreException(Kind.NOT_FOUND, "partition " + partition + " has no committed epoch");
        }
        if (epoch == 0) {
            return epochs.get(epochs.size() - 1).epoch();
        }
        for (EpochInfo i : epochs) {
            if (i.epoch() == epoch) {
                return epoch;
            }
        }
        throw new RestoreException(Kind.NOT_FOUND, "partition " + partition + " has no epoch " + epoch + " (epochs: "
                + epochs.stream().map(i -> Long.toString(i.epoch())).collect(Collectors.joining(", ")) + ")");
    }

    /** Runs the restore on a fresh thread: it becomes the husks' tracer and ends with the restore. */
    private static RestoreResult onOwnThread(String partition, java.util.concurrent.Callable<RestoreResult> task) {
        FutureTask<RestoreResult> f = new FutureTask<>(task);
        Thread t = new Thread(f, "sls-restore-" + partition);
        t.setDaemon(true);
        t.start();
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RestoreException(Kind.INTERNAL, "restore of partition " + partition + ": interrupted");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RestoreException re) {
                throw re;
            }
            throw new RestoreException(Kind.INTERNAL, "restore of partition " + partition + ": " + c, c);
        }
    }

    /**
     * The terminals slsd keeps for the restored processes of {@code partition}, oldest first. Those
     * whose processes have all ended (and that no console uses) are closed and dropped here.
     */
    public List<Terminal> terminals(String partition) {
        List<Terminal> l = terminals.get(partition);
        if (l == null) {
            return List.of();
        }
        for (Terminal t : l) {
            if (!t.inUse() && !t.isAttached()) {
                l.remove(t);
                t.close();
                log.info("partition {}: terminal {} closed: its processes have ended", partition, t);
            }
        }
        return List.copyOf(l);
    }

    /** Closes the partition's terminals (when it is deleted): processes still on them get a hangup. */
    public void closeTerminals(String partition) {
        List<Terminal> l = terminals.remove(partition);
        if (l != null) {
            l.forEach(Terminal::close);
        }
    }

    @Override
    public void close() {
        for (String p : List.copyOf(terminals.keySet())) {
            closeTerminals(p);
        }
        if (ownReaper) {
            reaper.close();
        }
    }
}
