package org.sls.slsd.checkpoint;

import org.sls.slos.EpochInfo;
import org.sls.slos.EpochWriter;
import org.sls.slos.Slos;
import org.sls.slos.StoreException;
import org.sls.slsd.capture.CaptureTimings;
import org.sls.slsd.capture.Precopy;
import org.sls.slsd.capture.CaptureTimings.Phase;
import org.sls.slsd.capture.DirtyTracker;
import org.sls.slsd.capture.EpochPlan;
import org.sls.slsd.capture.FdCapture;
import org.sls.slsd.capture.FreezePriority;
import org.sls.slsd.capture.Freezer;
import org.sls.slsd.capture.FrozenTree;
import org.sls.slsd.capture.FullDirtyTracker;
import org.sls.slsd.capture.MemoryCapture;
import org.sls.slsd.capture.MemoryLineage;
import org.sls.slsd.capture.Staging;
import org.sls.slsd.capture.StateCapture;
import org.sls.slsd.capture.UffdDirtyTracker;
import org.sls.slsd.checkpoint.CheckpointException.Kind;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.checkpoint.manifest.Manifest;
import org.sls.slsd.checkpoint.manifest.ManifestCodec;
import org.sls.slsd.checkpoint.manifest.ProcessImage;
import org.sls.slsd.checkpoint.manifest.RegionImage;
import org.sls.slsd.checkpoint.manifest.SharedMemoryImage;
import org.sls.slsd.linux.Errno;
import org.sls.slsd.linux.InetCalls;
import org.sls.slsd.linux.KernelFeatures;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.NativeException;
import org.sls.slsd.linux.NetworkLock;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.ProcStat;
import org.sls.slsd.linux.Ptrace;
import org.sls.slsd.linux.Reaper;
import org.sls.slsd.linux.Spawner;
import org.sls.slsd.linux.Vma;
import org.sls.slsd.resources.CaptureContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The checkpoint engine: attaches processes to partitions, and checkpoints a partition into one
 * slos epoch (freeze, read state, stage memory, resume, write, commit: DESIGN section 3), fully or
 * incrementally (section 5). ptrace is held only during a checkpoint or spawn. Every partition has
 * its own ptrace thread, so all ptrace calls for its processes come from one Java thread.
 *
 * <p>Thread-safe: calls for different partitions run in parallel; calls for one partition run one
 * at a time in arrival order. A failed checkpoint leaves its processes running as before and
 * commits nothing.
 */
public final class CheckpointEngine implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(CheckpointEngine.class);
    /** Staging memory kept mapped between checkpoints, per idle staging area. */
    private static final long STAGING_RETAIN = 256L << 20;
    private static final int SIGKILL = 9;
    /**
     * Checkpoints of one partition captured and not yet written (the one being written included):
     * beyond, the next capture waits, so that time to durable stays short.
     */
    private static final int MAX_IN_FLIGHT = 3;
    /** Idle staging areas kept per partition. */
    private static final int STAGING_IDLE = 2;
    /** Default of {@code staging.max.bytes} (see {@link StagingBudget}). */
    public static final long DEFAULT_STAGING_MAX = 512L << 20;
    /** Default of {@code memory.hot.share}: a VMA half of whose pages each interval writes runs hot. */
    public static final double DEFAULT_MEMORY_HOT_SHARE = 0.5;

    private final Slos store;
    private final KernelFeatures features;
    private final Reaper reaper;
    private final boolean ownReaper;
    private final Map<String, Partition> partitions = new ConcurrentHashMap<>();
    private final Map<Integer, String> owner = new ConcurrentHashMap<>();
    private volatile boolean fallbackLogged;
    private volatile EpochParticipant participant = EpochParticipant.NONE;
    private final LongOperations operations = new LongOperations();
    /** Staging memory of checkpoints captured and not yet written, all partitions together. */
    private final StagingBudget budget;
    /** The share of a VMA's pages an interval must write for it to run hot (see {@link UffdDirtyTracker}). */
    private final double memoryHotShare;
    /** {@code memory.precopy}: written pages copied before the freeze (see {@link Precopy}). */
    private volatile boolean precopy;
    /**
     * Scans confirming, before a commit, the pipe holders a checkpoint took from an earlier scan:
     * at most one every 20 ms, shared by the checkpoints thawed before it started.
     */
    private final org.sls.slsd.resources.HolderScans holderScans = new org.sls.slsd.resources.HolderScans(20_000_000L);
    /** Test hook called at named steps of a checkpoint ("frozen", "captured", "resumed"). */
    private volatile java.util.function.Consumer<String> stepHook = s -> { };

    /** One partition's engine state; touched only on its own thread except the pid set. */
    private final class Partition {
        final String name;
        final Set<Integer> pids = ConcurrentHashMap.newKeySet();
        /** Who attached each root: a non-root caller's checkpoints may only hold that caller's processes. */
        final Map<Integer, Integer> callers = new ConcurrentHashMap<>();
        final java.util.concurrent.ScheduledExecutorService thread;
        /** Threads seized by a failed freeze that have not stopped yet (see Freezer.releaseStragglers). */
        final Set<Integer> stragglers = new java.util.HashSet<>();
        java.util.concurrent.ScheduledFuture<?> stragglerWatch;
        /** Writes captured checkpoints to the store, one at a time, in the order they were captured. */
        final ExecutorService writer;
        /** Staging areas between two checkpoints, kept mapped for the next ones. */
        final java.util.ArrayDeque<Staging> idle = new java.util.ArrayDeque<>();
        DirtyTracker tracker;
        // guarded by this Partition: the ptrace thread captures while the writer commits
        /** The memory of the newest checkpoint captured: committed, or still being written. */
        MemoryLineage lineage = MemoryLineage.empty();
        /** The newest epoch this engine committed for the partition. */
        long lastEpoch;
        /** Checkpoints captured whose store writes have not ended yet. */
        int inFlight;
        /** Bumped when a write fails: checkpoints captured before, which build on it, fail too. */
        int generation;
        long lastStagedBytes;
        /**
         * Who held which pipe at the newest scan of /proc (made after a thaw, or while frozen), or
         * null; set by the ptrace and the writer threads.
         */
        volatile Map<String, Set<Integer>> pipeHolders;
        /** What never changes of the sockets the newest capture met, by inode (see CaptureContext#carrySocketFacts). */
        volatile Map<Long, InetCalls.Facts> socketFacts = Map.of();

        Partition(String name) {
            this.name = name;
            this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "sls-ptrace-" + name);
                t.setDaemon(true);
                return t;
            });
            this.writer = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "sls-write-" + name);
                t.setDaemon(true);
                return t;
            });
        }

        DirtyTracker tracker() {
            if (tracker == null) {
                tracker = features.incrementalCheckpoints() ? new UffdDirtyTracker(memoryHotShare) : new FullDirtyTracker();
            }
            return tracker;
        }
    }

    public CheckpointEngine(Slos store, KernelFeatures features) {
        this(store, features, null);
    }

    /** With the daemon's {@link Reaper} for spawned children (one is created when null). */
    public CheckpointEngine(Slos store, KernelFeatures features, Reaper reaper) {
        this(store, features, reaper, DEFAULT_STAGING_MAX);
    }

    /** With a bound on the staging memory of checkpoints waiting to be written ({@code staging.max.bytes}). */
    public CheckpointEngine(Slos store, KernelFeatures features, Reaper reaper, long stagingMaxBytes) {
        this(store, features, reaper, stagingMaxBytes, DEFAULT_MEMORY_HOT_SHARE);
    }

    /**
     * With the share of a VMA's pages an interval must write for it to run hot ({@code
     * memory.hot.share}, see {@link UffdDirtyTracker}; above 1: never).
     */
    public CheckpointEngine(Slos store, KernelFeatures features, Reaper reaper, long stagingMaxBytes,
                            double memoryHotShare) {
        if (!(memoryHotShare > 0)) {
            throw new IllegalArgumentException("memory.hot.share must be positive, not " + memoryHotShare);
        }
        this.budget = new StagingBudget(stagingMaxBytes);
        this.memoryHotShare = memoryHotShare;
        this.store = store;
        this.features = features;
        this.ownReaper = reaper == null;
        this.reaper = reaper == null ? new Reaper() : reaper;
        if (!features.incrementalCheckpoints()) {
            log.info("incremental checkpoints unavailable ({}): delta checkpoints will be full", fallbackReason());
            fallbackLogged = true;
        }
    }

    /**
     * Whether delta checkpoints copy the pages written since the last one before they freeze the
     * processes ({@code memory.precopy}, off by default): shorter freezes, at the price of
     * protecting those pages twice per checkpoint, and of hot regions ({@code memory.hot.share}),
     * which a copy before the freeze cannot have (README, Benchmarks). Applies from the next checkpoint.
     */
    public void precopy(boolean on) {
        this.precopy = on;
    }

    /** "uffd-wp-async" when delta checkpoints track dirty pages, else "full". For {@code status}. */
    public String dirtyTracking() {
        return features.incrementalCheckpoints() ? "uffd-wp-async" : "full";
    }

    /** Why delta checkpoints fall back to full ones, or "" when they do not. For {@code status}. */
    public String fallbackReason() {
        if (features.incrementalCheckpoints()) {
            return "";
        }
        List<String> missing = new ArrayList<>();
        if (!features.uffdWpAsync()) missing.add("userfaultfd WP async");
        if (!features.pagemapScan()) missing.add("PAGEMAP_SCAN");
        if (!features.pidfdGetfd()) missing.add("pidfd_getfd");
        return "kernel lacks " + String.join(", ", missing);
    }

    public KernelFeatures features() { return features; }

    /** The checkpoints running now, with their progress (the restore engine reports there too). */
    public LongOperations operations() { return operations; }

    /**
     * Tells in advance whether {@code pid} (with its descendants when {@code recursive}) could be
     * checkpointed: runs the same refusal checks a checkpoint runs first (namespaces, seccomp, each
     * mapping, the fds) on /proc, without freezing or touching the process. Returns one message
     * per problem found (the first problem of each check), empty when none.
     */
    public static List<String> check(int pid, boolean recursive) {
        if (!ProcFs.exists(pid)) {
            throw new CheckpointException(Kind.NO_SUCH_PROCESS, "no process with pid " + pid);
        }
        List<Integer> pids = new ArrayList<>(List.of(pid));
        for (int i = 0; recursive && i < pids.size(); i++) {
            for (int c : ProcFs.children(pids.get(i))) {
                if (!pids.contains(c)) {
                    pids.add(c);
                }
            }
        }
        List<String> problems = new ArrayList<>();
        org.sls.slsd.resources.CaptureContext fdContext = new org.sls.slsd.resources.CaptureContext(pids, false);
        for (int p : pids) {
            try {
                StateCapture.checkSupported(p);
            } catch (CheckpointException e) {
                problems.add(e.getMessage());
            }
            for (Vma vma : ProcFs.maps(p)) {
                try {
                    MemoryCapture.kindOf(p, vma);
                } catch (CheckpointException e) {
                    problems.add(e.getMessage());
                }
            }
            try {
                FdCapture.capture(p, fdContext);
            } catch (CheckpointException e) {
                problems.add(e.getMessage());
            }
        }
        return problems;
    }

    /** Adds what else goes into every checkpoint epoch (slfs's files); pinned while frozen. */
    public void participant(EpochParticipant participant) {
        this.participant = participant == null ? EpochParticipant.NONE : participant;
    }

    /**
     * For tests: called on the ptrace thread at "frozen" and "captured" (still frozen), and on the
     * writer thread at "resumed" (before the store writes).
     */
    void onStep(java.util.function.Consumer<String> hook) {
        this.stepHook = hook;
    }

    private Partition partition(String name) {
        return partitions.computeIfAbsent(name, Partition::new);
    }

    /**
     * Adds a process to a partition after checking it exists, is not a kernel thread nor slsd, is
     * not traced by someone else, and belongs to {@code callerUid} (unless root). No ptrace is kept.
     */
    public void attach(String partition, int pid, int callerUid) {
        validate(pid, callerUid);
        String other = owner.putIfAbsent(pid, partition);
        if (other != null && !other.equals(partition)) {
            throw new CheckpointException(Kind.ALREADY_TRACED, "pid " + pid + " is already attached to partition " + other);
        }
        partition(partition).callers.put(pid, callerUid);
        partition(partition).pids.add(pid);
        log.info("pid {} attached to partition {}", pid, partition);
    }

    private static void validate(int pid, int callerUid) {
        if (pid <= 0 || !ProcFs.exists(pid)) {
            throw new CheckpointException(Kind.NO_SUCH_PROCESS, "pid " + pid + ": no such process");
        }
        ProcStat st;
        Map<String, String> status;
        try {
            st = ProcFs.stat(pid);
            status = ProcFs.status(pid);
        } catch (ProcFs.NoSuchProcessException e) {
            throw new CheckpointException(Kind.NO_SUCH_PROCESS, "pid " + pid + ": no such process");
        }
        if (st.kernelThread()) {
            throw new CheckpointException(Kind.PERMISSION, "pid " + pid + " (" + st.comm() + ") is a kernel thread");
        }
        if (Integer.parseInt(status.get("Tgid")) == Linux.getpid()) {
            throw new CheckpointException(Kind.PERMISSION, "pid " + pid + " is slsd itself");
        }
        if (Integer.parseInt(status.get("Tgid")) != pid) {
            throw new CheckpointException(Kind.NO_SUCH_PROCESS, "pid " + pid + " is a thread of process " + status.get("Tgid"));
        }
        if (st.state() == 'Z') {
            throw new CheckpointException(Kind.NO_SUCH_PROCESS, "pid " + pid + " has exited (zombie)");
        }
        int tracer = Integer.parseInt(status.getOrDefault("TracerPid", "0"));
        if (tracer != 0) {
            throw new CheckpointException(Kind.ALREADY_TRACED, "pid " + pid + " is already traced by pid " + tracer + " ("
                    + ProcFs.commOrUnknown(tracer) + ")");
        }
        if (callerUid != 0) {
            String[] uids = status.get("Uid").trim().split("\\s+");
            String me = Integer.toString(callerUid);
            // as the kernel's ptrace check: real, effective and saved uid all the caller's
            if (!uids[0].equals(me) || !uids[1].equals(me) || !uids[2].equals(me)) {
                throw new CheckpointException(Kind.PERMISSION, "pid " + pid + " belongs to uid " + uids[0] + ", not to uid " + callerUid);
            }
        }
    }

    /** Removes a process from its partition and stops tracking its memory. */
    public void detach(int pid) {
        String name = owner.remove(pid);
        if (name != null) {
            partition(name).callers.remove(pid);
        }
        if (name == null) {
            throw new CheckpointException(Kind.NO_SUCH_PROCESS, "pid " + pid + " is not attached");
        }
        Partition p = partition(name);
        p.pids.remove(pid);
        run(p, () -> {
            if (p.tracker != null) {
                p.tracker.forget(pid);
            }
            return null;
        });
        log.info("pid {} detached from partition {}", pid, name);
    }

    /** The processes attached to a partition (roots of checkpoints; descendants are found at -r). */
    public Set<Integer> attached(String partition) {
        Partition p = partitions.get(partition);
        return p == null ? Set.of() : new TreeSet<>(p.pids);
    }

    /**
     * Starts a program in the partition: a child of slsd, attached before its first instruction
     * (in the partition, then let run). Runs as {@code callerUid} when that is not root.
     */
    public int spawn(String partition, List<String> argv, Map<String, String> env, String cwd, String stdinPath,
                     String stdoutPath, String stderrPath, int callerUid) {
        Partition p = partition(partition);
        return run(p, () -> {
            int pid;
            try {
                pid = Spawner.spawnTraced(new Spawner.Spec(argv, env, cwd, stdinPath, stdoutPath, stderrPath,
                        callerUid), reaper);
            } catch (NativeException | IllegalArgumentException | IllegalStateException e) {
                throw new CheckpointException(Kind.NO_SUCH_PROCESS, "spawn " + argv.get(0) + ": " + e.getMessage(), e);
            }
            owner.put(pid, partition);
            p.callers.put(pid, callerUid);
            p.pids.add(pid);
            Ptrace.detach(pid, 0);
            log.info("spawned pid {} ({}) in partition {}", pid, argv.get(0), partition);
            return pid;
        });
    }

    /**
     * Checkpoints the partition into one new epoch whose parent is {@code parentEpoch}.
     *
     * @param mode "full" (every present page) or "delta" (pages written since the parent epoch, when
     *             the parent is the last epoch this engine wrote for the partition; full otherwise)
     */
    public CheckpointResult checkpoint(String partition, boolean recursive, String mode, long parentEpoch) {
        return checkpoint(partition, recursive, mode, parentEpoch, false);
    }

    /**
     * As {@link #checkpoint(String, boolean, String, long)}; with {@code external}, pipes that
     * processes outside the partition also hold are accepted and come back on /dev/null (the
     * partition's ends), instead of refusing the checkpoint ({@code slsctl checkpoint --external}).
     */
    public CheckpointResult checkpoint(String partition, boolean recursive, String mode, long parentEpoch,
                                       boolean external) {
        return checkpoint(partition, recursive, mode, parentEpoch, external, null);
    }

    /**
     * As {@link #checkpoint(String, boolean, String, long, boolean)}, asked for by a process of the
     * partition on its own connection to slsd ({@code selfCall}, null for an ordinary checkpoint):
     * that connection's fd is saved so that the restored process reads the answer
     * {@code restored: true} on it. Refused when no process of the checkpoint holds that connection.
     */
    public CheckpointResult checkpoint(String partition, boolean recursive, String mode, long parentEpoch,
                                       boolean external, CaptureContext.SelfCall selfCall) {
        return await(checkpointAsync(partition, recursive, mode, () -> parentEpoch, external, selfCall, r -> { }),
                partition);
    }

    private static CheckpointResult await(CompletableFuture<CheckpointResult> f, String partition) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CheckpointException(Kind.INTERNAL, "interrupted while waiting for partition " + partition);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new CheckpointException(Kind.INTERNAL, String.valueOf(e.getCause()), e.getCause());
        }
    }

    /**
     * {@code checkpoint --kill}: checkpoints the partition as {@link #checkpoint(String, boolean,
     * String, long, boolean)} does, but behind a network lock, and ends its processes instead of
     * letting them run (CRIU's dump for migration). Frozen, the established connections to peers
     * outside the partition are put under {@code lock} before their state is read, and are
     * captured with TCP_REPAIR like those inside; the processes stay frozen while the epoch is
     * written and committed (after the partition's earlier checkpoints, on the partition's thread,
     * not pipelined); then every captured connection is put into repair mode (it closes without
     * FIN or RST), the processes are SIGKILLed and their deaths waited for, and they leave the
     * partition. Anything failing before the kill removes the lock and lets the processes run on
     * exactly as before (an epoch already committed stays).
     */
    public CheckpointResult checkpointAndKill(String partition, boolean recursive, String mode, long parentEpoch,
                                              boolean external, KillLock lock) {
        if (!mode.equals("full") && !mode.equals("delta")) {
            throw new IllegalArgumentException("mode must be full or delta, not " + mode);
        }
        java.util.Objects.requireNonNull(lock, "lock");
        Partition p = partition(partition);
        return run(p, () -> {
            synchronized (p) {
                while (p.inFlight > 0) {
                    p.wait(100); // the epochs written in order: the earlier ones first
                }
            }
            LongOperations.Operation op = operations.begin(partition, "checkpoint");
            try {
                op.stage("capturing", 0);
                Captured c = capture(p, recursive, mode, () -> parentEpoch, external, op, lock, null);
                CheckpointResult r;
                try {
                    op.stage("writing", c.plan().bytes());
                    r = write(p, c, op);
                } catch (RuntimeException e) {
                    if (!c.tree().thawed()) { // failed before the kill: they run on as before
                        if (c.lockInstalled()) {
                            removeLock(p, lock);
                        }
                        c.tree().thaw();
                    }
                    throw e;
                } finally {
                    release(p, c.staging(), c.stagingAccounted());
                    synchronized (p) {
                        p.inFlight--;
                        p.notifyAll();
                    }
                }
                long frozen = kill(p, c.tree(), c.fdContext(), lock, c.lockInstalled(), r.epoch(), c.locked());
                prune(p);
                return new CheckpointResult(r.epoch(), frozen, r.pages(), r.bytes(), r.commitMicros(), r.pids(), true,
                        c.locked().stream().map(Object::toString).toList(), r.phasesMicros(), r.parentEpoch());
            } finally {
                op.close();
            }
        });
    }

    /** The partition {@code pid} is attached to (as a root), if any. */
    public java.util.Optional<String> partitionOf(int pid) {
        return java.util.Optional.ofNullable(owner.get(pid));
    }

    /** As {@link #checkpointAsync(String, boolean, String, java.util.function.LongSupplier, boolean, CaptureContext.SelfCall, java.util.function.Consumer)}, not asked for by a process itself. */
    public CompletableFuture<CheckpointResult> checkpointAsync(String partition, boolean recursive, String mode,
                                                               java.util.function.LongSupplier parentEpoch,
                                                               boolean external,
                                                               java.util.function.Consumer<CheckpointResult> onDurable) {
        return checkpointAsync(partition, recursive, mode, parentEpoch, external, null, onDurable);
    }

    /**
     * Captures the partition and returns once its processes run again; the store writes follow on
     * the partition's writer thread, in capture order, while the next checkpoint may already be
     * captured (pipelining). The future completes once the epoch is durable, after
     * {@code onDurable} ran (on the writer thread), or fails with a {@link CheckpointException}.
     * A checkpoint captured while others are being written builds on the newest of them;
     * otherwise on {@code parentEpoch}, asked for when the capture starts. Capture failures are
     * thrown.
     */
    public CompletableFuture<CheckpointResult> checkpointAsync(String partition, boolean recursive, String mode,
                                                               java.util.function.LongSupplier parentEpoch,
                                                               boolean external, CaptureContext.SelfCall selfCall,
                                                               java.util.function.Consumer<CheckpointResult> onDurable) {
        if (!mode.equals("full") && !mode.equals("delta")) {
            throw new IllegalArgumentException("mode must be full or delta, not " + mode);
        }
        Partition p = partition(partition);
        LongOperations.Operation op = operations.begin(partition, "checkpoint");
        op.stage("capturing", 0);
        CompletableFuture<CheckpointResult> f = new CompletableFuture<>();
        try {
            // captured and queued for writing in one task of the partition's thread, so that the
            // writer takes them in capture order whichever threads asked: a chained checkpoint
            // holds only what changed since the one before it, and must be committed after it
            run(p, () -> {
                Captured c = capture(p, recursive, mode, parentEpoch, external, op, null, selfCall);
                queueWrite(p, c, op, f, onDurable,
                        () -> checkpointAsync(partition, recursive, mode, parentEpoch, external, selfCall, onDurable));
                return null;
            });
        } catch (RuntimeException e) {
            op.close();
            throw e;
        }
        return f;
    }

    /**
     * Hands a captured checkpoint to the partition's writer; on the partition's thread, right
     * after its capture. {@code f} completes once it is durable; a checkpoint refused at the commit
     * because a pipe's outside holders changed is taken once more ({@code again}).
     */
    private void queueWrite(Partition p, Captured c, LongOperations.Operation op,
                            CompletableFuture<CheckpointResult> f,
                            java.util.function.Consumer<CheckpointResult> onDurable,
                            java.util.function.Supplier<CompletableFuture<CheckpointResult>> again) {
        try {
            p.writer.execute(() -> {
                CheckpointResult r = null;
                RuntimeException failure = null;
                try {
                    op.stage("writing", c.plan().bytes());
                    r = write(p, c, op);
                    try {
                        onDurable.accept(r);
                    } catch (RuntimeException e) {
                        log.warn("partition {}: after epoch {}: {}", p.name, r.epoch(), e.toString());
                    }
                    prune(p);
                } catch (RuntimeException e) {
                    failure = e;
                } finally {
                    // all given back before the caller hears of it
                    op.close();
                    release(p, c.staging, c.stagingAccounted);
                    synchronized (p) {
                        p.inFlight--;
                        p.notifyAll();
                    }
                }
                if (failure instanceof PipeHoldersChanged) {
                    // rare: once more, with the holders scanned while frozen (exact, but slower); not
                    // on this thread, whose writes the new capture may wait for
                    log.info("partition {}: {}; checkpointing again", p.name, failure.getMessage());
                    CompletableFuture.runAsync(() -> {
                        try {
                            again.get().whenComplete((r2, e) -> {
                                if (e != null) {
                                    f.completeExceptionally(e);
                                } else {
                                    f.complete(r2);
                                }
                            });
                        } catch (RuntimeException e) {
                            f.completeExceptionally(e);
                        }
                    }, FrozenReads.THREADS);
                } else if (failure != null) {
                    f.completeExceptionally(failure);
                } else {
                    f.complete(r);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            op.close();
            c.pinned.abandon();
            release(p, c.staging, c.stagingAccounted);
            synchronized (p) {
                p.inFlight--;
                p.notifyAll();
            }
            throw new CheckpointException(Kind.INTERNAL, "partition " + p.name + ": slsd is stopping");
        }
    }

    /** Bytes of staging memory held by checkpoints being captured or waiting to be written. For status. */
    public long stagingInUse() {
        return budget.inUse();
    }

    /** The bound on {@link #stagingInUse()} ({@code staging.max.bytes}). */
    public long stagingMaxBytes() { return budget.maxBytes(); }

    /**
     * A staging area for a checkpoint that expects to stage {@code estimate} bytes: waits (before
     * the freeze) while the checkpoints in flight hold too much; returns the bytes it accounted.
     */
    private Staging acquire(Partition p, long estimate, CaptureTimings t, long[] accounted,
                            LongOperations.Operation op) {
        t.enter(Phase.STAGING_WAIT);
        op.stage("waiting for staging memory", 0);
        synchronized (p) {
            while (p.inFlight >= MAX_IN_FLIGHT) {
                try {
                    p.wait(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new CheckpointException(Kind.INTERNAL, "partition " + p.name
                            + ": interrupted while waiting for earlier checkpoints to be written");
                }
            }
        }
        try {
            budget.take(estimate);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CheckpointException(Kind.INTERNAL, "partition " + p.name + ": interrupted while waiting for staging memory");
        }
        t.enter(Phase.RESERVE);
        Staging s;
        synchronized (p) {
            s = p.idle.poll();
        }
        if (s == null) {
            s = new Staging();
        }
        try {
            op.stage("preparing staging memory", Math.max(0, estimate - s.mappedBytes()));
            s.reserve(estimate, op::add);
            op.stage("capturing", 0);
        } catch (RuntimeException e) {
            release(p, s, estimate);
            throw e;
        }
        accounted[0] = budget.adjust(estimate, s.mappedBytes());
        return s;
    }

    /** Gives a staging area back (kept for the next checkpoint or unmapped) and its bytes to the budget. */
    private void release(Partition p, Staging s, long accounted) {
        s.reset(Math.min(STAGING_RETAIN, budget.maxBytes() / 8));
        boolean kept;
        synchronized (p) {
            kept = p.idle.size() < STAGING_IDLE && !p.writer.isShutdown();
            if (kept) {
                p.idle.push(s);
            }
        }
        if (!kept) {
            s.close();
        }
        budget.give(accounted);
    }

    /** What a capture leaves for the store writes. */
    private record Captured(long requestedParent, boolean chained, int generation, boolean delta, boolean recursive,
                            EpochPlan plan, Staging staging, long stagingAccounted, List<ProcessImage> images,
                            List<SharedMemoryImage> shared, MemoryLineage lineage, EpochParticipant.Pinned pinned,
                            long frozenMicros, CaptureTimings timings, FrozenTree tree, CaptureContext fdContext,
                            List<NetworkLock.Connection> locked, boolean lockInstalled,
                            CompletableFuture<Map<String, Set<Integer>>> holdersScan, boolean builtOnLineage) {}

    /**
     * Before a commit: a checkpoint that took pipe holders from an earlier scan is committed only if
     * a scan made after its thaw gives the same outside holders for every pipe it asked about
     * ({@link CaptureContext#holdersStillValid}); that scan serves the next checkpoints.
     */
    private static void confirmHolders(Partition p, Captured c) {
        if (c.holdersScan() == null) {
            return;
        }
        c.timings().enter(Phase.VERIFY);
        Map<String, Set<Integer>> fresh;
        try {
            fresh = c.holdersScan().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CheckpointException(Kind.INTERNAL, "partition " + p.name + ": interrupted while confirming pipe holders");
        } catch (ExecutionException e) {
            throw new CheckpointException(Kind.INTERNAL, "partition " + p.name + ": scanning /proc for pipe holders: "
                    + e.getCause().getMessage(), e.getCause());
        } finally {
            c.timings().enter(Phase.WRITE);
        }
        if (!c.fdContext().holdersStillValid(fresh)) {
            p.pipeHolders = null; // the next capture scans while frozen
            throw new PipeHoldersChanged("a pipe's holders outside the partition changed since the last scan");
        }
        p.pipeHolders = fresh;
    }

    /** The pipes' outside holders differ from those of the earlier scan a checkpoint relied on. */
    private static final class PipeHoldersChanged extends RuntimeException {
        PipeHoldersChanged(String message) {
            super(message, null, false, false);
        }
    }

    private <T> T run(Partition p, Callable<T> task) {
        Future<T> f = p.thread.submit(task);
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CheckpointException(Kind.INTERNAL, "interrupted while waiting for partition " + p.name);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException re) {
                throw re;
            }
            throw new CheckpointException(Kind.INTERNAL, String.valueOf(c), c);
        }
    }

    /**
     * Freezes the partition, captures it into a staging area, lets it run again; on the partition's
     * thread. The store writes are {@link #write}'s.
     */
    private Captured capture(Partition p, boolean recursive, String mode, java.util.function.LongSupplier parentOf,
                             boolean external, LongOperations.Operation op, KillLock kill,
                             CaptureContext.SelfCall selfCall) {
        List<Integer> roots = new ArrayList<>();
        for (int pid : new TreeSet<>(p.pids)) {
            if (ProcFs.exists(pid) && !ProcFs.taskExited(pid, pid)) {
                roots.add(pid);
            } else {
                log.info("pid {} of partition {} is gone; dropping it", pid, p.name);
                p.pids.remove(pid);
                p.callers.remove(pid);
                owner.remove(pid);
                if (p.tracker != null) {
                    p.tracker.forget(pid);
                }
            }
        }
        if (roots.isEmpty()) {
            throw new CheckpointException(Kind.NO_SUCH_PROCESS, "partition " + p.name + " has no live process");
        }
        boolean delta = mode.equals("delta") && features.incrementalCheckpoints();
        if (mode.equals("delta") && !delta && !fallbackLogged) {
            log.info("delta checkpoints fall back to full ones: {}", fallbackReason());
            fallbackLogged = true;
        }
        MemoryLineage prev;
        boolean chained;
        long parentEpoch = 0;
        int generation;
        synchronized (p) {
            // while an earlier checkpoint is being written, this one builds on it
            chained = p.inFlight > 0;
            if (!chained) {
                parentEpoch = parentOf.getAsLong();
            }
            prev = chained || (parentEpoch != 0 && parentEpoch == p.lastEpoch) ? p.lineage : MemoryLineage.empty();
            generation = p.generation;
        }
        DirtyTracker tracker = p.tracker();
        CaptureTimings t = new CaptureTimings();
        t.enter(Phase.SMAPS);
        // smaps walks every page table (about 18 ms per GiB): read it before the freeze for the
        // VmFlags and the staging estimate; while frozen only maps is read and matched against it
        Map<Integer, ProcFs.Smaps> early = smapsBeforeFreeze(roots, recursive);
        long anon = early.values().stream().mapToLong(ProcFs.Smaps::anonymousBytes).sum();
        // a delta stages about what the last one did; a full copy stages all anonymous memory
        long lastStaged = p.lastStagedBytes;
        long[] accounted = new long[1];
        Staging staging = acquire(p, delta && prev.epoch() != 0 ? Math.min(anon, Math.max(16L << 20, 2 * lastStaged))
                : anon + anon / 16 + (1 << 20), t, accounted, op);
        try {
            return capture(p, roots, recursive, external, delta, prev, chained, parentEpoch, generation, tracker, t,
                    early, staging, accounted, kill, selfCall);
        } catch (RuntimeException e) {
            release(p, staging, accounted[0]);
            throw e;
        } finally {
            FreezePriority.lowerSelf(); // lowered at the thaw; here after a failure (or an Error)
        }
    }

    private Captured capture(Partition p, List<Integer> roots, boolean recursive, boolean external, boolean delta,
                             MemoryLineage prev, boolean chained, long parentEpoch, int generation,
                             DirtyTracker tracker, CaptureTimings t, Map<Integer, ProcFs.Smaps> early,
                             Staging staging, long[] accounted, KillLock kill, CaptureContext.SelfCall selfCall) {

        EpochPlan plan = new EpochPlan();
        List<ProcessImage> images = new ArrayList<>();
        List<SharedMemoryImage> shared;
        MemoryLineage nextLineage;
        long frozenMicros;
        EpochParticipant.Pinned pinned = null;
        boolean trackerTouched = false;
        t.enter(Phase.FREEZE);
        if (!Freezer.releaseStragglers(p.stragglers)) {
            throw new CheckpointException(Kind.INTERNAL, "partition " + p.name + ": threads " + p.stragglers
                    + " have not stopped since the last failed checkpoint");
        }
        FrozenTree tree;
        CaptureContext fdContext = null;
        FrozenReads reads = null;
        List<NetworkLock.Connection> lockedConnections = List.of();
        boolean lockInstalled = false;
        Precopy copiedEarly = null;
        MemoryCapture vanishing = null;
        try {
            if (precopy && delta && prev.epoch() != 0 && kill == null) {
                t.enter(Phase.PRECOPY);
                Map<Integer, List<Vma>> before = new LinkedHashMap<>();
                early.forEach((pid, s) -> before.put(pid, s.vmas()));
                trackerTouched = true; // pages protected again: a failure from here on leaves no parent
                copiedEarly = Precopy.run(before, prev, tracker, staging);
                log.debug("partition {}: {} pages copied before the freeze", p.name, copiedEarly.pages());
                t.enter(Phase.FREEZE);
            }
            // this thread waits on the frozen ones and they on it: all run realtime until the thaw
            FreezePriority.raiseSelf();
            tree = Freezer.freeze(roots, recursive, p.stragglers);
        } catch (RuntimeException e) {
            failed(p, trackerTouched);
            throw translate(e); // the early copy's scan of a process that died: ESRCH
        } finally {
            watchStragglers(p);
        }
        try (MemoryCapture mc = new MemoryCapture(staging, plan, tracker, delta, features.pagemapScan(), prev, 0,
                store::newObjectId)) {
            mc.timings(t);
            mc.precopy(copiedEarly);
            stepHook.accept("frozen");
            t.enter(Phase.CHECKS);
            List<Integer> pids = tree.pids();
            Map<Integer, List<Vma>> vmas = new LinkedHashMap<>();
            Map<Integer, List<FdImage>> fds = new LinkedHashMap<>();
            // everything that can refuse comes first, before any side effect
            fdContext = new CaptureContext(pids, external, kill != null, selfCall);
            reads = new FrozenReads(p.name, fdContext);
            fdContext.keepSocketCopies(); // closed once the fds are read, below or on failure
            fdContext.carrySocketFacts(p.socketFacts);
            if (p.pipeHolders != null && kill == null) {
                fdContext.holdersFromEarlierScan(p.pipeHolders);
            }
            if (kill != null) {
                // locked before their state is read: from now on no packet of theirs passes either way
                lockedConnections = fdContext.outsideConnections();
                if (!lockedConnections.isEmpty()) {
                    lockInstalled = true;
                    kill.install(lockedConnections);
                }
                fdContext.locked(lockedConnections);
                log.info("partition {}: network lock on {} connection(s) to outside peers: {}", p.name,
                        lockedConnections.size(), lockedConnections);
            }
            fdContext.contents(mc::noteFile);
            // The fds are read by another thread from here on, while this one checks the processes,
            // reads registers and injects syscalls (which mostly waits for the tracees to be
            // scheduled): the other core has little else to do meanwhile. Reading an fd changes
            // nothing a failed check would have to undo. Not when a dirty tracker is set up (that
            // briefly opens a userfaultfd in the process), nor for --kill.
            boolean prepares = kill != null;
            for (int pid : pids) {
                prepares |= delta && tracker.needsPreparation(pid);
            }
            if (!prepares) {
                reads.startFds(pids, fds);
            }
            for (int pid : pids) {
                t.enter(Phase.CHECKS);
                checkCaller(p, pid, pids);
                StateCapture.checkSupported(pid);
                List<Vma> v = withFlags(pid, ProcFs.maps(pid), early.get(pid));
                for (Vma vma : v) {
                    MemoryCapture.kindOf(pid, vma);
                }
                vmas.put(pid, v);
                ProcStat st = ProcFs.stat(pid);
                mc.stamp(pid, ProcFs.link(pid, "exe").orElse("") + "@" + Long.toHexString(st.startCode()) + ":"
                        + Long.toHexString(st.startStack()) + ":" + Long.toHexString(st.startBrk()) + "/" + st.startTime());
            }
            if (prepares) {
                t.enter(Phase.FDS);
                for (int pid : pids) {
                    fds.put(pid, FdCapture.capture(pid, fdContext));
                }
            }
            trackerTouched = delta;
            // Private memory is scanned and copied by another thread too, while this one waits for the
            // tracees to answer injected calls: the scan, the copy and the userfaultfd calls go
            // through slsd's own fds, not ptrace. Not when the tracker is set up by injection.
            Map<Integer, List<RegionImage>> regions = new LinkedHashMap<>();
            if (!prepares) {
                reads.startMemory(mc, pids, vmas, regions);
            }
            Map<Integer, ProcessImage> states = new LinkedHashMap<>();
            RuntimeException failure = null;
            FrozenReads frozenReads = reads;
            try {
                for (int pid : pids) {
                    t.enter(Phase.PROC);
                    List<Integer> children = new ArrayList<>();
                    for (int c : ProcFs.children(pid, tree.threads(pid))) {
                        if (pids.contains(c)) {
                            children.add(c);
                        }
                    }
                    states.put(pid, StateCapture.capture(pid, tree.threads(pid), tree.stateBefore(pid), vmas.get(pid),
                            List.of(), List.of(), children,
                            onLeaderInjection(pid, delta && tracker.needsPreparation(pid) ? tracker : null),
                            () -> frozenReads.awaitScanned(pid), t));
                }
            } catch (RuntimeException e) {
                failure = e;
            }
            // waited for even after a failure here: the readers read the frozen processes, and the
            // copier writes into staging memory closed below
            failure = reads.join(t, mc, failure);
            if (failure != null) {
                throw failure;
            }
            p.socketFacts = fdContext.socketFacts();
            if (selfCall != null && !fdContext.selfCallWasMet()) {
                throw new CheckpointException(Kind.NO_SUCH_PROCESS, "partition " + p.name + ": no process of the checkpoint ("
                        + pids + ") holds the caller's connection to slsd (slsd's socket " + selfCall.connection() + ")");
            }
            for (int pid : pids) {
                List<RegionImage> r = reads.readsMemory() ? regions.get(pid) : mc.captureProcess(pid, vmas.get(pid));
                List<FdImage> f;
                synchronized (fds) {
                    f = fds.get(pid);
                }
                images.add(states.get(pid).withRegions(r).withFds(f));
            }
            t.enter(Phase.SHARED);
            shared = mc.captureShared();
            t.enter(Phase.SHARED);
            vanishing = mc; // its objects gone since the parent are dropped after the thaw: no need to freeze for that
            nextLineage = mc.lineage();
            pinned = participant.frozen(p.name);
            stepHook.accept("captured");
            for (Integer gone : prev.epoch() == 0 ? List.<Integer>of() : pidsOf(prev)) {
                if (!pids.contains(gone)) {
                    tracker.forget(gone);
                }
            }
        } catch (RuntimeException e) {
            t.stop();
            if (reads != null) {
                reads.settle();
            }
            if (lockInstalled) {
                removeLock(p, kill);
            }
            tree.thaw();
            if (pinned != null) {
                pinned.abandon();
            }
            failed(p, trackerTouched);
            throw translate(e);
        }
        // a checkpoint --kill keeps them frozen until they die: nothing they do may follow the epoch
        t.enter(Phase.THAW);
        frozenMicros = kill == null ? tree.thaw() : 0;
        FreezePriority.lowerSelf();
        vanishing.dropVanishedObjects();
        // answers taken from an earlier scan are confirmed by one made after this thaw, before the
        // commit (see write)
        CompletableFuture<Map<String, Set<Integer>>> holdersScan = null;
        if (fdContext.usedEarlierScan()) {
            holdersScan = holderScans.after(System.nanoTime());
        } else if (fdContext.holders() != null) {
            p.pipeHolders = fdContext.holders();
        }
        t.stop();
        p.lastStagedBytes = staging.stagedBytes();
        accounted[0] = budget.adjust(accounted[0], staging.mappedBytes());
        // in flight: the next capture builds on this lineage ("epoch" -1 until committed)
        MemoryLineage captured = nextLineage.withEpoch(-1);
        synchronized (p) {
            // a write that failed meanwhile voided what this capture builds on: it will fail in
            // turn, and nothing may build on it
            p.lineage = generation == p.generation ? captured : MemoryLineage.empty();
            p.inFlight++;
        }
        return new Captured(parentEpoch, chained, generation, delta, recursive, plan, staging, accounted[0], images,
                shared, captured, pinned, frozenMicros, t, tree, fdContext, lockedConnections, lockInstalled, holdersScan,
                prev.epoch() != 0);
    }

    /**
     * Deletes the partition's epochs beyond its {@code --keep}, after an epoch was made durable and
     * its waiters were told (deleting merges records and syncs the metadata: several milliseconds
     * that are no part of the new epoch's durability). Before the checkpoint's caller hears of it,
     * so that what it lists next is already pruned.
     */
    private void prune(Partition p) {
        store.pruneKept(p.name);
    }

    /** Writes a captured checkpoint and commits it; on the partition's writer thread, in capture order. */
    private CheckpointResult write(Partition p, Captured c, LongOperations.Operation op) {
        CaptureTimings t = c.timings();
        long parentEpoch;
        synchronized (p) {
            if (c.generation() != p.generation) {
                // what was captured after it does not build on it: a capture that ends after a
                // failed write does not publish its lineage (see capture)
                c.pinned().abandon();
                throw new CheckpointException(Kind.STORE, "partition " + p.name
                        + ": the checkpoint this one builds on failed to be written");
            }
            // the previous one, committed just before by this thread
            parentEpoch = c.chained() ? p.lastEpoch : c.requestedParent();
            if (c.chained() && c.builtOnLineage() && parentEpoch == 0) {
                voidInFlight(p);
                c.pinned().abandon();
                throw new CheckpointException(Kind.INTERNAL, "partition " + p.name
                        + ": a delta captured after an earlier checkpoint found no committed epoch to build on");
            }
        }
        t.enter(Phase.WRITE);
        long t0 = System.nanoTime();
        boolean written = false;
        try (EpochWriter w = store.beginEpoch(p.name, parentEpoch, false)) { // pruned once the waiters know: prune()
            stepHook.accept("resumed");
            c.plan().writeTo(w, c.staging(), op::add);
            op.stage("committing", 0); // the last pages' flush, the manifest, the commit
            Manifest m = new Manifest(Manifest.FORMAT_VERSION, p.name, w.epoch(), parentEpoch,
                    c.delta() ? "delta" : "full", System.currentTimeMillis(), features.kernelRelease(), Linux.PAGE_SIZE,
                    c.recursive(), c.images(), c.shared());
            byte[] manifest = ManifestCodec.encode(m);
            w.putBlob(Manifest.BLOB, manifest);
            confirmHolders(p, c);
            c.pinned().writeTo(w);
            written = true;
            EpochInfo info = w.commit();
            long commitMicros = (System.nanoTime() - t0) / 1000;
            t.stop();
            synchronized (p) {
                p.lastEpoch = info.epoch();
                if (p.lineage == c.lineage()) {
                    p.lineage = c.lineage().withEpoch(info.epoch());
                }
            }
            List<Integer> pids = c.images().stream().map(ProcessImage::pid).toList();
            log.debug("partition {} epoch {}: {} processes, {} pages, manifest {} bytes, frozen {} us, commit {} us ({})",
                    p.name, info.epoch(), pids.size(), c.plan().pages(), manifest.length, c.frozenMicros(), commitMicros, t);
            return new CheckpointResult(info.epoch(), c.frozenMicros(), c.plan().pages() + c.plan().holes(),
                    c.plan().bytes(), commitMicros, pids, false, List.of(), t.micros(), parentEpoch);
        } catch (RuntimeException e) {
            if (!written) {
                c.pinned().abandon();
            }
            synchronized (p) {
                voidInFlight(p);
            }
            if (e instanceof PipeHoldersChanged) {
                throw e;
            }
            if (e instanceof StoreException) {
                throw new CheckpointException(Kind.STORE, "partition " + p.name + ": store: " + e.getMessage(), e);
            }
            throw translate(e);
        }
    }

    /**
     * After a checkpoint failed to be written: what was captured after it builds on it and fails
     * too (its generation is older), and the next capture starts afresh: new objects, on no
     * lineage. Under the partition's lock.
     */
    private static void voidInFlight(Partition p) {
        p.generation++;
        p.lineage = MemoryLineage.empty();
        p.lastEpoch = 0;
    }

    /**
     * The end of a checkpoint --kill, once its epoch is durable: the lock is marked as the epoch's,
     * every connection captured with TCP_REPAIR goes back into repair mode (closed silently, no
     * lingering socket), then every process of the frozen tree is SIGKILLed, its death consumed
     * as its tracer, and waited for; the dead leave the partition. A failure before the first
     * SIGKILL undoes the repair mode and the lock and lets the processes run on. Returns how long
     * they were frozen, in microseconds.
     */
    private long kill(Partition p, FrozenTree tree, org.sls.slsd.resources.CaptureContext fdContext, KillLock lock,
                      boolean lockInstalled, long epoch, List<NetworkLock.Connection> connections) {
        try {
            if (lockInstalled) {
                lock.committed(epoch, connections);
            }
            fdContext.silenceRepaired();
            stepHook.accept("silenced");
        } catch (RuntimeException e) {
            try {
                fdContext.unsilence();
            } catch (RuntimeException u) {
                log.warn("partition {}: taking connections out of repair mode: {}", p.name, u.getMessage());
            }
            if (lockInstalled) {
                removeLock(p, lock);
            }
            tree.thaw();
            throw new CheckpointException(Kind.INTERNAL, "partition " + p.name + ": epoch " + epoch + " is committed, "
                    + "but its processes were not killed and run on: " + e.getMessage(), e);
        }
        List<Integer> pids = tree.pids();
        for (int pid : pids) {
            Linux.killIfAlive(pid, SIGKILL);
        }
        long frozen = tree.thaw(); // as their tracer, slsd hears of each death first and lets the parent reap
        long deadline = System.nanoTime() + 10_000_000_000L;
        for (int pid : pids) {
            while (!ProcFs.taskExited(pid, pid) && System.nanoTime() < deadline) {
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
            }
            if (!ProcFs.taskExited(pid, pid)) {
                log.warn("partition {}: pid {} still runs 10 s after SIGKILL", p.name, pid);
            }
            p.pids.remove(pid);
            p.callers.remove(pid);
            owner.remove(pid);
            if (p.tracker != null) {
                p.tracker.forget(pid);
            }
        }
        log.info("partition {}: epoch {} committed, pids {} killed{}", p.name, epoch, pids,
                lockInstalled ? " behind the network lock" : "");
        return frozen;
    }

    private static void removeLock(Partition p, KillLock lock) {
        try {
            lock.remove();
        } catch (RuntimeException e) {
            log.error("partition {}: removing the network lock: {}", p.name, e.getMessage());
        }
    }

    /**
     * A descendant caught by a recursive checkpoint must belong to the user who attached its root,
     * unless that was root: a setuid child's memory is not for its parent's owner to keep.
     */
    private static void checkCaller(Partition p, int pid, List<Integer> tree) {
        int cur = pid;
        Integer caller = null;
        for (int hops = 0; hops < tree.size() + 1 && caller == null; hops++) {
            caller = p.callers.get(cur);
            if (caller == null) {
                cur = ProcFs.stat(cur).ppid();
            }
        }
        if (caller == null || caller == 0) {
            return;
        }
        String[] uids = ProcFs.status(pid).get("Uid").trim().split("\\s+");
        String me = Integer.toString(caller);
        if (!uids[0].equals(me) || !uids[1].equals(me) || !uids[2].equals(me)) {
            throw new CheckpointException(Kind.PERMISSION, "pid " + pid + " (under pid " + cur + ") belongs to uid "
                    + uids[1] + ", not to uid " + caller);
        }
    }

    /** Runs while syscalls are being injected into the leader: the tracker's set-up, and the test hook's "injecting" step. */
    private java.util.function.Consumer<org.sls.slsd.linux.SyscallInjector> onLeaderInjection(int pid, DirtyTracker preparing) {
        return inj -> {
            if (preparing != null) {
                preparing.prepare(pid, inj);
            }
            stepHook.accept("injecting");
        };
    }

    /** Lets stuck threads go from the partition's own thread as soon as they stop. */
    private static void watchStragglers(Partition p) {
        if (!p.stragglers.isEmpty() && p.stragglerWatch == null) {
            p.stragglerWatch = p.thread.scheduleWithFixedDelay(() -> {
                try {
                    if (Freezer.releaseStragglers(p.stragglers)) {
                        p.stragglerWatch.cancel(false);
                        p.stragglerWatch = null;
                    }
                } catch (RuntimeException e) {
                    log.warn("partition {}: releasing stuck threads: {}", p.name, e.getMessage());
                }
            }, 20, 20, java.util.concurrent.TimeUnit.MILLISECONDS);
        }
    }

    private static List<Integer> pidsOf(MemoryLineage l) {
        return l.pids();
    }

    /**
     * After a capture failed, the tracker's view is no longer that of the last epoch: the next
     * capture starts over with full copies. The last epoch stays: a checkpoint still being written
     * builds on it, and its own lineage is no longer published when it commits.
     */
    private void failed(Partition p, boolean trackerTouched) {
        if (trackerTouched) {
            synchronized (p) {
                p.lineage = MemoryLineage.empty();
            }
        }
    }

    /** smaps of the tree before freezing it (processes that vanish meanwhile are left out). */
    private static Map<Integer, ProcFs.Smaps> smapsBeforeFreeze(List<Integer> roots, boolean recursive) {
        Map<Integer, ProcFs.Smaps> out = new LinkedHashMap<>();
        List<Integer> queue = new ArrayList<>(roots);
        for (int i = 0; i < queue.size(); i++) {
            int pid = queue.get(i);
            try {
                out.put(pid, ProcFs.smapsDetailed(pid));
                if (recursive) {
                    queue.addAll(ProcFs.children(pid));
                }
            } catch (RuntimeException e) {
                // gone: the freeze will tell
            }
        }
        return out;
    }

    /**
     * The VMAs read while frozen, with VmFlags from the smaps read just before; when a VMA changed
     * in between, smaps is read again (frozen now).
     */
    private static List<Vma> withFlags(int pid, List<Vma> maps, ProcFs.Smaps early) {
        if (early != null) {
            Map<Long, Vma> byStart = new java.util.HashMap<>();
            for (Vma v : early.vmas()) {
                byStart.put(v.start(), v);
            }
            List<Vma> out = new ArrayList<>(maps.size());
            for (Vma v : maps) {
                Vma e = byStart.get(v.start());
                if (e == null || e.end() != v.end() || !e.perms().equals(v.perms()) || e.offset() != v.offset()
                        || e.inode() != v.inode() || !e.path().equals(v.path())) {
                    return ProcFs.smaps(pid);
                }
                out.add(new Vma(v.start(), v.end(), v.perms(), v.offset(), v.devMajor(), v.devMinor(), v.inode(),
                        v.path(), e.vmFlags()));
            }
            return out;
        }
        return ProcFs.smaps(pid);
    }

    static CheckpointException translate(RuntimeException e) {
        if (e instanceof CheckpointException ce) {
            return ce;
        }
        if (e instanceof ProcFs.NoSuchProcessException nsp) {
            return new CheckpointException(Kind.NO_SUCH_PROCESS, "pid " + nsp.pid() + " exited during the checkpoint", e);
        }
        if (e instanceof NativeException ne && ne.errno() == Errno.ESRCH) {
            return new CheckpointException(Kind.NO_SUCH_PROCESS, "a process exited during the checkpoint: " + ne.getMessage(), e);
        }
        if (e instanceof StoreException) {
            return new CheckpointException(Kind.STORE, "store: " + e.getMessage(), e);
        }
        if (e instanceof UncheckedIOException) {
            return new CheckpointException(Kind.INTERNAL, e.getMessage(), e);
        }
        return new CheckpointException(Kind.INTERNAL, String.valueOf(e.getMessage()), e);
    }

    @Override
    public void close() {
        try {
            closePartitions();
        } finally {
            holderScans.close();
        }
    }

    private void closePartitions() {
        for (Partition p : partitions.values()) {
            // checkpoints captured are written first
            p.writer.shutdown();
            try {
                if (!p.writer.awaitTermination(60, java.util.concurrent.TimeUnit.SECONDS)) {
                    log.warn("partition {}: store writes still running at close", p.name);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            try {
                run(p, () -> {
                    if (p.tracker != null) {
                        p.tracker.close();
                    }
                    synchronized (p) {
                        p.idle.forEach(Staging::close);
                        p.idle.clear();
                    }
                    return null;
                });
            } catch (RuntimeException e) {
                log.warn("closing partition {}: {}", p.name, e.getMessage());
            }
            p.thread.shutdown();
        }
        if (ownReaper) {
            reaper.close();
        }
    }
}
