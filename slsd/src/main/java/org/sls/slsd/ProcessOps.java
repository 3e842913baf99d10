package org.sls.slsd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sls.libsls.CheckpointInfo;
import org.sls.libsls.PartitionSpec;
import org.sls.libsls.RestoreInfo;
import org.sls.libsls.protocol.Codec;
import org.sls.libsls.protocol.ErrorCode;
import org.sls.libsls.protocol.SlsException;
import org.sls.slos.EpochInfo;
import org.sls.slos.PartitionRecord;
import org.sls.slos.Slos;
import org.sls.slsd.checkpoint.CheckpointEngine;
import org.sls.slsd.checkpoint.CheckpointException;
import org.sls.slsd.checkpoint.CheckpointResult;
import org.sls.slsd.control.Args;
import org.sls.slfs.Slfs;
import org.sls.slsd.checkpoint.manifest.Manifest;
import org.sls.slsd.checkpoint.manifest.ManifestCodec;
import org.sls.slsd.checkpoint.manifest.ProcessImage;
import org.sls.slsd.restore.RestoreEngine;
import org.sls.slsd.restore.RestoreException;
import org.sls.slsd.restore.RestoreResult;
import org.sls.slsd.control.Caller;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.ProcStat;
import org.sls.slsd.resources.CaptureContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The operations on processes: attach, detach, spawn, checkpoint, epochwait. Keeps, per
 * partition, the epoch the next checkpoint builds on (the newest one, or the one last restored)
 * and which checkpoints are in flight. Thread-safe.
 */
public final class ProcessOps {
    private static final Logger log = LoggerFactory.getLogger(ProcessOps.class);

    private final Slos store;
    private final Partitions partitions;
    private final CheckpointEngine engine;
    private final RestoreEngine restorer;
    private final Slfs slfs;
    private final Map<String, Long> heads = new ConcurrentHashMap<>();
    private final Map<String, Integer> inFlight = new HashMap<>();
    private final NetworkLocks locks;

    public ProcessOps(Slos store, Partitions partitions, CheckpointEngine engine, RestoreEngine restorer, Slfs slfs) {
        this.slfs = slfs;
        this.store = store;
        this.partitions = partitions;
        this.engine = engine;
        this.restorer = restorer;
        this.locks = new NetworkLocks(store);
    }

    /** At slsd's start: lifts network locks no restore can use any more (see {@link NetworkLocks#cleanStale}). */
    void cleanStaleLocks() {
        locks.cleanStale();
    }

    /** A deleted partition's network lock goes with it. */
    void partitionDeleted(String name) {
        locks.lift(name, "partition deleted");
    }

    /** The checkpoint engine, for status. */
    public CheckpointEngine engine() {
        return engine;
    }

    /** Makes {@code epoch} the parent of the partition's next checkpoint (after a restore). */
    public void setHead(String partition, long epoch) {
        heads.put(partition, epoch);
    }

    JsonNode attach(ObjectNode args, Caller caller) {
        int pid = pid(args);
        String name = Args.optString(args, "name").orElse(Partitions.DEFAULT);
        if (name.equals(Partitions.DEFAULT) && store.partition(name).isEmpty()) {
            partitions.add(PartitionSpec.named(name));
            log.info("partition {} created on demand", name);
        } else {
            partitions.get(name);
        }
        engine.attach(name, pid, caller.uid());
        log.info("pid {} attached to partition {} by uid {}", pid, name, caller.uid());
        ObjectNode r = Codec.MAPPER.createObjectNode();
        r.put("name", name);
        r.put("pid", pid);
        return r;
    }

    JsonNode detach(ObjectNode args, Caller caller) {
        int pid = pid(args);
        requireOwner(pid, caller);
        engine.detach(pid);
        return null;
    }

    JsonNode spawn(ObjectNode args, Caller caller) {
        String name = Args.string(args, "name");
        partitions.get(name);
        JsonNode argvNode = args.get("argv");
        if (argvNode == null || !argvNode.isArray() || argvNode.isEmpty()) {
            throw Args.invalid("spawn needs \"argv\": a non-empty array of strings");
        }
        List<String> argv = new ArrayList<>();
        argvNode.forEach(n -> argv.add(n.asText()));
        Map<String, String> env = new HashMap<>();
        JsonNode envNode = args.get("env");
        if (envNode != null && envNode.isObject()) {
            envNode.fields().forEachRemaining(e -> env.put(e.getKey(), e.getValue().asText()));
        }
        String cwd = Args.optString(args, "cwd").orElse("/");
        int pid = engine.spawn(name, argv, env, cwd, Args.optString(args, "stdin").orElse(null),
                Args.optString(args, "stdout").orElse(null), Args.optString(args, "stderr").orElse(null), caller.uid());
        ObjectNode r = Codec.MAPPER.createObjectNode();
        r.put("pid", pid);
        r.put("name", name);
        return r;
    }

    JsonNode checkpoint(ObjectNode args, Caller caller) {
        if (Args.optBool(args, "self", false)) {
            return checkpointSelf(args, caller);
        }
        String name = Args.optString(args, "name").orElse(Partitions.DEFAULT);
        partitions.get(name);
        if (!caller.isRoot()) {
            for (int pid : engine.attached(name)) {
                requireOwner(pid, caller);
            }
        }
        return Codec.MAPPER.valueToTree(checkpoint(name, Args.optBool(args, "recursive", false),
                Args.optBool(args, "external", false), Args.optBool(args, "kill", false)));
    }

    /**
     * A checkpoint asked for by a process of a partition on its own connection ({@code self}): the
     * caller is the peer of the connection ({@code SO_PEERCRED}); its partition is the one it is
     * attached to, or the one of its nearest attached ancestor (then the checkpoint includes every
     * descendant, as {@code -r}). The live caller is answered {@code restored: false}; a process
     * restored from the epoch reads {@code restored: true} on the same connection (SlsControlKind).
     */
    private JsonNode checkpointSelf(ObjectNode args, Caller caller) {
        if (caller.pid() <= 0 || caller.connection() == 0) {
            throw new SlsException(ErrorCode.INTERNAL, "checkpoint of the caller itself: slsd cannot tell which process"
                    + " is calling (its JDK hides the connection's fd; see slsd's log)");
        }
        if (Args.optBool(args, "kill", false)) {
            throw Args.invalid("checkpoint of the caller itself cannot kill: the caller would never hear the answer");
        }
        int pid = caller.pid();
        boolean recursive = Args.optBool(args, "recursive", false);
        String name = engine.partitionOf(pid).orElse(null);
        int root = pid;
        for (int hops = 0; name == null && hops < 4096; hops++) {
            int parent;
            try {
                parent = ProcFs.stat(root).ppid();
            } catch (RuntimeException e) {
                break;
            }
            if (parent <= 1) {
                break;
            }
            root = parent;
            name = engine.partitionOf(root).orElse(null);
            recursive = name != null || recursive; // the caller is a descendant of an attached process
        }
        if (name == null) {
            throw new SlsException(ErrorCode.NOT_FOUND, "checkpoint of the caller itself: pid " + pid
                    + " is not attached to any partition, nor is any of its ancestors; attach it first (slsctl attach -p "
                    + pid + " -o NAME)");
        }
        Optional<String> asked = Args.optString(args, "name");
        if (asked.isPresent() && !asked.get().equals(name)) {
            throw Args.invalid("checkpoint of the caller itself: pid " + pid + " is in partition " + name + ", not "
                    + asked.get());
        }
        if (!caller.isRoot()) {
            for (int attached : engine.attached(name)) {
                requireOwner(attached, caller);
            }
        }
        log.info("pid {} asks for a checkpoint of its partition {} (root pid {}, recursive {})", pid, name, root, recursive);
        CheckpointInfo info = checkpoint(name, recursive, Args.optBool(args, "external", false), false,
                new CaptureContext.SelfCall(caller.connection(), caller.requestId()));
        ObjectNode r = Codec.MAPPER.valueToTree(info);
        r.put("restored", false);
        return r;
    }

    /**
     * Checkpoints a partition into a new epoch whose parent is the partition's head, and returns
     * once it is durable. Failures are {@link SlsException}s naming the thing.
     */
    public CheckpointInfo checkpoint(String name, boolean recursive) {
        return checkpoint(name, recursive, false);
    }

    /**
     * As {@link #checkpoint(String, boolean)}; with {@code external}, a pipe that processes outside
     * the partition also hold is saved with the partition's end coming back on /dev/null, instead
     * of refusing the checkpoint.
     */
    public CheckpointInfo checkpoint(String name, boolean recursive, boolean external) {
        return checkpoint(name, recursive, external, false, null);
    }

    /**
     * As {@link #checkpoint(String, boolean, boolean)}; with {@code kill} ({@code checkpoint
     * --kill}), the processes stay frozen until the epoch is durable and are then killed behind a
     * network lock on their connections to outside peers, which the restore of that epoch resumes
     * and lifts. A failure before the kill leaves them running as before.
     */
    public CheckpointInfo checkpoint(String name, boolean recursive, boolean external, boolean kill) {
        return checkpoint(name, recursive, external, kill, null);
    }

    private CheckpointInfo checkpoint(String name, boolean recursive, boolean external, boolean kill,
                                      CaptureContext.SelfCall selfCall) {
        if (!kill) {
            return await(checkpointAsync(name, recursive, external, selfCall), name);
        }
        PartitionRecord part = partitions.get(name);
        long head = heads.computeIfAbsent(name, n -> store.lastEpoch(n).orElse(0));
        long parent = head == 0 || committed(name, head) ? head : store.lastEpoch(name).orElse(0); // the head may have been deleted
        begin(name);
        CheckpointResult r;
        try {
            r = engine.checkpointAndKill(name, recursive, part.mode(), parent, external, locks.forKill(name));
        } catch (CheckpointException e) {
            throw toSls(e);
        } finally {
            end(name);
        }
        heads.put(name, r.epoch());
        partitions.stats(name).record(r.frozenMicros(), r.bytes(), r.commitMicros());
        log.debug("partition {}: epoch {} (parent {}), {} pages, frozen {} us, commit {} us", name, r.epoch(), parent,
                r.pages(), r.frozenMicros(), r.commitMicros());
        if (r.killed()) {
            log.info("partition {}: epoch {} durable, pids {} killed; {} connection(s) to outside peers locked until its "
                    + "restore", name, r.epoch(), r.pids(), r.locked().size());
        }
        return new CheckpointInfo(name, r.epoch(), parent, r.frozenMicros(), r.pages(), r.bytes(), r.commitMicros(), r.pids(),
                r.killed(), r.locked(), r.phasesMicros());
    }

    private static CheckpointInfo await(java.util.concurrent.CompletableFuture<CheckpointInfo> f, String name) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SlsException(ErrorCode.INTERNAL, "interrupted while checkpointing partition " + name);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new SlsException(ErrorCode.INTERNAL, String.valueOf(e.getCause()));
        }
    }

    /**
     * As {@link #checkpoint(String, boolean, boolean)}, but returns once the processes run again
     * (capture failures are thrown); the future completes once the epoch is durable, or fails with
     * an {@link SlsException}. The next checkpoint may be captured meanwhile (pipelining).
     */
    public java.util.concurrent.CompletableFuture<CheckpointInfo> checkpointAsync(String name, boolean recursive,
                                                                                  boolean external) {
        return checkpointAsync(name, recursive, external, null);
    }

    private java.util.concurrent.CompletableFuture<CheckpointInfo> checkpointAsync(String name, boolean recursive,
                                                                                   boolean external,
                                                                                   CaptureContext.SelfCall selfCall) {
        PartitionRecord part = partitions.get(name);
        java.util.function.LongSupplier parentOf = () -> {
            long head = heads.computeIfAbsent(name, n -> store.lastEpoch(n).orElse(0));
            // the head may have been deleted
            return head == 0 || committed(name, head) ? head : store.lastEpoch(name).orElse(0);
        };
        begin(name);
        java.util.concurrent.CompletableFuture<CheckpointResult> f;
        try {
            f = engine.checkpointAsync(name, recursive, part.mode(), parentOf, external, selfCall, r -> {
                // before the engine counts the write done, so that the next capture sees this head
                heads.put(name, r.epoch());
                partitions.stats(name).record(r.frozenMicros(), r.bytes(), r.commitMicros());
                synchronized (inFlight) {
                    inFlight.notifyAll(); // epochwait: durable now, whatever still follows (pruning)
                }
            });
        } catch (CheckpointException e) {
            end(name);
            throw toSls(e);
        } catch (RuntimeException e) {
            end(name);
            throw e;
        }
        return f.handle((r, e) -> {
            end(name);
            if (e != null) {
                Throwable c = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
                if (c instanceof CheckpointException ce) {
                    throw toSls(ce);
                }
                if (c instanceof RuntimeException re) {
                    throw re;
                }
                throw new SlsException(ErrorCode.INTERNAL, String.valueOf(c));
            }
            log.debug("partition {}: epoch {} (parent {}), {} pages, frozen {} us, commit {} us", name, r.epoch(),
                    r.parentEpoch(), r.pages(), r.frozenMicros(), r.commitMicros());
            return new CheckpointInfo(name, r.epoch(), r.parentEpoch(), r.frozenMicros(), r.pages(), r.bytes(),
                    r.commitMicros(), r.pids(), false, List.of(), r.phasesMicros());
        });
    }

    JsonNode restore(ObjectNode args, Caller caller) {
        String name = Args.optString(args, "name").orElse(Partitions.DEFAULT);
        partitions.get(name);
        long epoch = Args.optLong(args, "epoch", 0);
        if (epoch < 0) {
            throw Args.invalid("epoch must be 0 (the newest) or a committed epoch, not " + epoch);
        }
        if (epoch != 0 && !committed(name, epoch)) {
            throw new SlsException(ErrorCode.NOT_FOUND, "partition " + name + " has no checkpoint at epoch " + epoch);
        }
        if (epoch == 0 && store.lastEpoch(name).isEmpty()) {
            throw new SlsException(ErrorCode.NOT_FOUND, "partition " + name + " has no checkpoint to restore");
        }
        boolean newPids = Args.optBool(args, "newPids", false);
        long target = epoch != 0 ? epoch : store.lastEpoch(name).orElseThrow();
        if (!newPids) {
            // files roll back with memory, but only once nothing stands in the way of the processes
            requirePidsFree(name, target);
            slfs.rollback(name, target);
        }
        // the connections of a checkpoint --kill are resumed only while its lock still holds them
        boolean lockHeld = locks.lockedEpoch(name).orElse(-1) == target;
        RestoreResult r;
        try {
            r = restorer.restore(name, target, Args.optBool(args, "stopped", false), newPids, caller.uid(), lockHeld);
        } catch (RestoreException e) {
            if (lockHeld) {
                log.info("partition {}: restore failed; the network lock of epoch {} stays for another try", name, target);
            }
            throw toSls(e);
        }
        // the processes run: their peers may hear from them again
        locks.lift(name, lockHeld ? "epoch " + target + " restored with its connections" : "partition restored");
        rejoin(name, r, caller);
        heads.put(name, r.epoch());
        log.info("partition {}: restored epoch {} as pids {} in {} us", name, r.epoch(), r.pids(), r.totalMicros());
        return Codec.MAPPER.valueToTree(new RestoreInfo(name, r.epoch(), r.pids(), r.pidMap(), r.totalMicros(), r.readMicros(),
                r.writeMicros(), r.injectMicros()));
    }

    /** How long a restore waits for an original pid held by a process that is dying, or dead and not yet reaped. */
    private static final long PID_RELEASE_WAIT_NANOS = TimeUnit.SECONDS.toNanos(3);

    /**
     * Refuses, before anything changes, a restore under the original pids when one is taken.
     * A pid held by a process that is being killed, or by a zombie, is waited for a moment
     * ({@link #PID_RELEASE_WAIT_NANOS}): {@code kill -9} then {@code restore} at once must not
     * find the server still there. A zombie that stays is named with the parent that does not
     * reap it. A restore under new pids leaves the partition's files as they are (the clone
     * shares them with the original).
     */
    private void requirePidsFree(String name, long epoch) {
        Manifest m = ManifestCodec.decode(store.readBlob(name, epoch, Manifest.BLOB));
        long deadline = System.nanoTime() + PID_RELEASE_WAIT_NANOS;
        for (ProcessImage p : m.processes()) {
            int pid = p.pid();
            while (true) {
                ProcStat st;
                try {
                    st = ProcFs.stat(pid);
                } catch (ProcFs.NoSuchProcessException e) {
                    break; // free
                }
                String what = "restore of partition " + name + " epoch " + epoch + ": PID " + pid;
                boolean zombie = st.exited();
                boolean beingKilled = !zombie && killed(pid);
                if (!(zombie || beingKilled) || System.nanoTime() - deadline > 0) {
                    if (zombie) {
                        throw new SlsException(ErrorCode.BUSY, what + " is held by a zombie (" + st.comm()
                                + ") that its parent, PID " + st.ppid() + " (" + ProcFs.commOrUnknown(st.ppid())
                                + "), has not reaped; have the parent reap it or end the parent, or restore beside it"
                                + " with --new-pids");
                    }
                    if (beingKilled) {
                        throw new SlsException(ErrorCode.BUSY, what + " is held by a process being killed (" + st.comm()
                                + ", state " + st.state() + "), still there after " + PID_RELEASE_WAIT_NANOS / 1_000_000_000
                                + " s; try again once it is gone, or restore beside it with --new-pids");
                    }
                    throw new SlsException(ErrorCode.BUSY, what + " is taken by a running process (" + st.comm()
                            + "); end it, or restore beside it with --new-pids");
                }
                try {
                    Thread.sleep(10);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new SlsException(ErrorCode.BUSY, what + ": interrupted while waiting for its process to go");
                }
            }
        }
    }

    /** Whether a SIGKILL is pending for the whole process: it is on its way out. */
    private static boolean killed(int pid) {
        try {
            return (Long.parseUnsignedLong(ProcFs.status(pid).getOrDefault("ShdPnd", "0"), 16) & (1L << 8)) != 0;
        } catch (RuntimeException e) {
            return true; // gone meanwhile: the next look says so
        }
    }

    /**
     * The restored processes belong to their partition again. Where the checkpointed process
     * still runs (a restore beside it under new PIDs), the original stays the partition's and the
     * copy runs on its own.
     */
    private void rejoin(String name, RestoreResult r, Caller caller) {
        Set<Integer> attached = engine.attached(name);
        for (Map.Entry<Integer, Integer> e : r.pidMap().entrySet()) {
            int original = e.getKey();
            int restored = e.getValue();
            if (original != restored && attached.contains(original) && Files.exists(Path.of("/proc", Integer.toString(original)))) {
                continue;
            }
            if (attached.contains(original)) {
                engine.detach(original); // the old process's dirty tracking is stale, even under the same pid
            }
            try {
                engine.attach(name, restored, caller.uid());
            } catch (CheckpointException ex) {
                log.warn("partition {}: restored pid {} could not rejoin: {}", name, restored, ex.getMessage());
            }
        }
    }

    JsonNode epochWait(ObjectNode args, Caller caller) throws InterruptedException {
        String name = Args.string(args, "name");
        long epoch = Args.longArg(args, "epoch");
        long timeoutMs = Args.optLong(args, "timeout", 600_000);
        partitions.get(name);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (true) {
            if (durable(name, epoch)) {
                return null;
            }
            synchronized (inFlight) {
                if (inFlight.getOrDefault(name, 0) == 0) {
                    if (durable(name, epoch)) {
                        return null;
                    }
                    long newest = store.lastEpoch(name).orElse(0);
                    throw new SlsException(ErrorCode.NOT_FOUND, "partition " + name + " has no epoch " + epoch
                            + " and no checkpoint in flight (newest epoch " + (newest == 0 ? "none" : newest) + ")");
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new SlsException(ErrorCode.BUSY, "epoch " + epoch + " of partition " + name + " not durable after " + timeoutMs + " ms");
                }
                inFlight.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
        }
    }

    /** Waits (up to a minute) until no checkpoint of the partition is being captured or written. */
    public void awaitIdle(String name) {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
        synchronized (inFlight) {
            while (inFlight.getOrDefault(name, 0) > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    log.warn("partition {}: checkpoints still in flight after a minute", name);
                    return;
                }
                try {
                    inFlight.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /**
     * Whether the partition's durable state is at {@code epoch} or beyond: that epoch is committed,
     * or a newer one is (epochs number moments: a newer one holds all that came before, and the
     * one asked for may have been pruned by --keep since, or taken again as a newer one).
     */
    private boolean durable(String name, long epoch) {
        OptionalLong newest = store.lastEpoch(name); // one read: a committed epoch is at or below the newest
        return newest.isPresent() && newest.getAsLong() >= epoch;
    }

    private boolean committed(String name, long epoch) {
        for (EpochInfo e : store.epochs(name)) {
            if (e.epoch() == epoch) {
                return true;
            }
        }
        return false;
    }

    private void begin(String name) {
        synchronized (inFlight) {
            inFlight.merge(name, 1, Integer::sum);
        }
    }

    private void end(String name) {
        synchronized (inFlight) {
            inFlight.merge(name, -1, Integer::sum);
            inFlight.notifyAll();
        }
    }

    private static int pid(ObjectNode args) {
        long pid = Args.longArg(args, "pid");
        if (pid <= 0 || pid > Integer.MAX_VALUE) {
            throw Args.invalid("pid must be a positive process id, not " + pid);
        }
        return (int) pid;
    }

    /** Non-root callers act only on their own processes. */
    static void requireOwner(int pid, Caller caller) {
        if (caller.isRoot()) {
            return;
        }
        int uid = uidOf(pid);
        if (uid != caller.uid()) {
            throw new SlsException(ErrorCode.PERMISSION, "pid " + pid + " belongs to uid " + uid + ", not to uid " + caller.uid());
        }
    }

    private static int uidOf(int pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "status"))) {
                if (line.startsWith("Uid:")) {
                    return Integer.parseInt(line.substring(4).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            throw new SlsException(ErrorCode.NOT_FOUND, "no process with pid " + pid);
        }
        throw new SlsException(ErrorCode.NOT_FOUND, "no process with pid " + pid);
    }

    /** Maps the restore engine's failures to protocol errors, keeping their messages. */
    static SlsException toSls(RestoreException e) {
        ErrorCode code = switch (e.kind()) {
            case NOT_FOUND -> ErrorCode.NOT_FOUND;
            case PID_TAKEN -> ErrorCode.BUSY;
            case PERMISSION -> ErrorCode.PERMISSION;
            case VDSO_MISMATCH, FILE_CHANGED, UNSUPPORTED -> ErrorCode.UNSUPPORTED;
            case INTERNAL -> ErrorCode.INTERNAL;
        };
        return new SlsException(code, e.getMessage(), e);
    }

    /** Maps the engine's failures to protocol errors, keeping their messages. */
    static SlsException toSls(CheckpointException e) {
        ErrorCode code = switch (e.kind()) {
            case NO_SUCH_PROCESS -> ErrorCode.NOT_FOUND;
            case PERMISSION -> ErrorCode.PERMISSION;
            case ALREADY_TRACED -> ErrorCode.BUSY;
            case UNSUPPORTED_RESOURCE -> ErrorCode.UNSUPPORTED;
            case STORE -> ErrorCode.STORE;
            case INTERNAL -> ErrorCode.INTERNAL;
        };
        return new SlsException(code, e.getMessage(), e);
    }
}
