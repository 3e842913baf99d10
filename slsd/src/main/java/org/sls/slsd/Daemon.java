package org.sls.slsd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sls.libsls.KernelFeature;
import org.sls.libsls.PartitionSpec;
import org.sls.libsls.Status;
import org.sls.libsls.StoreInfo;
import org.sls.libsls.protocol.Codec;
import org.sls.libsls.protocol.ErrorCode;
import org.sls.libsls.protocol.Op;
import org.sls.libsls.protocol.Protocol;
import org.sls.libsls.protocol.SlsException;
import org.sls.slos.Slos;
import org.sls.slos.StoreException;
import org.sls.slos.StoreUsage;
import org.sls.slsd.checkpoint.CheckpointEngine;
import org.sls.slsd.checkpoint.CheckpointException;
import org.sls.slsd.linux.KernelFeatures;
import org.sls.slsd.linux.Reaper;
import org.sls.slsd.restore.RestoreEngine;
import org.sls.slsd.snapshot.SnapshotView;
import org.sls.slfs.FsSnapshot;
import org.sls.slfs.Slfs;
import org.sls.slos.EpochWriter;
import org.sls.slsd.checkpoint.EpochParticipant;
import org.sls.slsd.control.Args;
import org.sls.slsd.control.Caller;
import org.sls.slsd.control.ControlServer;
import org.sls.slsd.control.Handler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * One running slsd: the open store, its partitions and the control socket. Built by
 * {@link Main}; {@link #close()} finishes requests in flight, closes the socket and the store.
 * Thread-safe.
 */
public final class Daemon implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Daemon.class);
    /** slsd's version, from the jar manifest when packaged. */
    public static final String VERSION = versionOf();

    private final SlsdConfig config;
    private final Slos store;
    private final Partitions partitions;
    private final List<KernelFeature> features;
    private final CheckpointEngine engine;
    private final RestoreEngine restorer;
    private final ProcessOps processes;
    private final PeriodicCheckpoints periodic;
    private final MetricsFile metrics;
    private final Slfs slfs;
    private final ControlServer server;
    private final Reaper reaper;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final ThreadCpuClock cpu = new ThreadCpuClock(Runtime.getRuntime().availableProcessors());

    public Daemon(SlsdConfig config, Slos store, KernelFeatures kernel, List<KernelFeature> features) throws IOException {
        this.config = config;
        this.store = store;
        this.partitions = new Partitions(store);
        this.features = List.copyOf(features);
        this.slfs = new Slfs(store, new SnapshotView(store));
        this.reaper = new Reaper();
        this.engine = new CheckpointEngine(store, kernel, reaper, config.stagingMaxBytes(), config.memoryHotShare());
        engine.precopy(config.memoryPrecopy());
        org.sls.slsd.capture.FreezePriority.enabled(config.freezeRealtime() && kernel.realtime());
        this.restorer = new RestoreEngine(store, kernel, reaper);
        this.restorer.operations(engine.operations());
        this.processes = new ProcessOps(store, partitions, engine, restorer, slfs);
        this.periodic = new PeriodicCheckpoints(store, partitions, processes, config.frozenShareMax(),
                config.cpuShareMax(), cpu);
        this.metrics = config.metricsFile() == null ? null : new MetricsFile(config.metricsFile(), this::status);
        try {
            Consoles consoles = new Consoles(partitions, restorer);
            Map<String, Handler> handlers = handlers();
            handlers.put(Op.WINSIZE.wireName(), storeErrorsMapped(consoles::winsize));
            this.server = new ControlServer(config.socket(), handlers, Map.of(Op.CONSOLE.wireName(), consoles::console));
        } catch (IOException | RuntimeException e) {
            slfs.close();
            restorer.close();
            engine.close();
            reaper.close();
            throw e;
        }
    }

    /** Mounts slfs (unless told not to) and starts serving the control socket. */
    public void start() {
        if (config.mount() != null) {
            slfs.mount(config.mount());
            // a partition's files go into the same epoch as its processes' memory
            engine.participant(partition -> {
                FsSnapshot files = slfs.snapshot(partition);
                return new EpochParticipant.Pinned() {
                    @Override
                    public void writeTo(EpochWriter w) {
                        files.writeTo(w);
                    }

                    @Override
                    public void abandon() {
                        files.abandon();
                    }
                };
            });
        }
        processes.cleanStaleLocks();
        periodic.sync();
        if (metrics != null) {
            metrics.start();
        }
        server.start();
    }

    /** Blocks until {@link #close()} ran. */
    public void awaitStop() throws InterruptedException {
        stopped.await();
    }

    private Map<String, Handler> handlers() {
        Map<Op, Handler> byOp = new EnumMap<>(Op.class);
        byOp.put(Op.HELLO, this::hello);
        byOp.put(Op.CHECK, (args, caller) -> {
            ObjectNode r = Codec.MAPPER.createObjectNode();
            r.set("features", Codec.MAPPER.valueToTree(features));
            if (args.hasNonNull("pid")) {
                int pid = (int) Args.longArg(args, "pid");
                ProcessOps.requireOwner(pid, caller);
                r.put("pid", pid);
                r.set("problems", Codec.MAPPER.valueToTree(CheckpointEngine.check(pid, Args.optBool(args, "recursive", false))));
            }
            return r;
        });
        byOp.put(Op.STATUS, (args, caller) -> Codec.MAPPER.valueToTree(status()));
        byOp.put(Op.PARTADD, this::partadd);
        byOp.put(Op.PARTDEL, this::partdel);
        byOp.put(Op.LISTSNAPS, (args, caller) -> {
            ObjectNode r = Codec.MAPPER.createObjectNode();
            r.set("snapshots", Codec.MAPPER.valueToTree(partitions.snapshots(Args.optString(args, "name").orElse(null))));
            return r;
        });
        byOp.put(Op.DELETE, this::delete);
        byOp.put(Op.ATTACH, processes::attach);
        byOp.put(Op.DETACH, processes::detach);
        byOp.put(Op.SPAWN, processes::spawn);
        byOp.put(Op.CHECKPOINT, processes::checkpoint);
        byOp.put(Op.EPOCHWAIT, processes::epochWait);
        byOp.put(Op.RESTORE, processes::restore);
        byOp.put(Op.CORE, this::core);
        byOp.put(Op.PROGRESS, (args, caller) -> {
            ObjectNode r = Codec.MAPPER.createObjectNode();
            r.set("operations", Codec.MAPPER.valueToTree(engine.operations().current(Args.optString(args, "name").orElse(null))));
            return r;
        });
        byOp.put(Op.FSCK, (args, caller) -> {
            requireRoot(caller, "check the store");
            return Codec.MAPPER.valueToTree(store.fsck(Args.optBool(args, "repair", false)));
        });
        Map<String, Handler> byName = new HashMap<>();
        byOp.forEach((op, h) -> byName.put(op.wireName(), storeErrorsMapped(h)));
        return byName;
    }

    /** Turns the store's and the engines' failures into protocol errors that keep their messages. */
    private static Handler storeErrorsMapped(Handler h) {
        return (args, caller) -> {
            try {
                return h.handle(args, caller);
            } catch (CheckpointException e) {
                throw ProcessOps.toSls(e);
            } catch (StoreException e) {
                ErrorCode code = switch (e.kind()) {
                    case NOT_FOUND -> ErrorCode.NOT_FOUND;
                    case EXISTS -> ErrorCode.EXISTS;
                    case INVALID -> ErrorCode.INVALID_ARGUMENT;
                    default -> ErrorCode.STORE;
                };
                throw new SlsException(code, e.getMessage(), e);
            }
        };
    }

    private JsonNode hello(ObjectNode args, Caller caller) {
        ObjectNode r = Codec.MAPPER.createObjectNode();
        r.put("protocol", Protocol.VERSION);
        r.put("version", VERSION);
        r.put("pid", ProcessHandle.current().pid());
        r.put("uid", caller.uid());
        return r;
    }

    private Status status() {
        StoreUsage u = store.usage();
        StoreInfo s = new StoreInfo(store.dataPath().toString(), store.metaDir().toString(), store.uuid().toString(),
                u.totalBytes(), u.usedBytes(), u.freeBytes());
        return new Status(VERSION, ProcessHandle.current().pid(), cpu.share(), config.cpuShareMax(), s, partitions.describe(this::attached, this::tracker, periodic::effectivePeriodMs, periodic::stretchedBy));
    }

    private List<Integer> attached(String partition) {
        return List.copyOf(engine.attached(partition));
    }

    private String tracker(String partition) {
        return store.partition(partition).map(p -> "full".equals(p.mode()) ? "full" : engine.dirtyTracking()).orElse("");
    }

    private JsonNode partadd(ObjectNode args, Caller caller) {
        requireRoot(caller, "create a partition");
        PartitionSpec spec = new PartitionSpec(Args.string(args, "name"), Args.optString(args, "backend").orElse("slos"),
                Args.optString(args, "mode").orElse("delta"), Args.optLong(args, "period", 0), (int) Args.optLong(args, "keep", 0));
        partitions.add(spec);
        periodic.sync();
        log.info("partition {} created (backend {}, mode {}, period {} ms)", spec.name(), spec.backend(), spec.mode(), spec.periodMs());
        return Codec.MAPPER.valueToTree(partitions.describe(this::attached, this::tracker, periodic::effectivePeriodMs, periodic::stretchedBy).stream()
                .filter(p -> p.name().equals(spec.name())).findFirst().orElseThrow());
    }

    private JsonNode partdel(ObjectNode args, Caller caller) {
        requireRoot(caller, "delete a partition");
        String name = Args.string(args, "name");
        partitions.get(name);
        periodic.stop(name);
        processes.awaitIdle(name); // its last checkpoints may still be being written
        for (int pid : engine.attached(name)) {
            engine.detach(pid); // the processes run on, outside any partition
        }
        partitions.delete(name);
        restorer.closeTerminals(name);
        slfs.deletePartition(name);
        processes.partitionDeleted(name);
        log.info("partition {} deleted", name);
        return null;
    }

    private JsonNode delete(ObjectNode args, Caller caller) {
        requireRoot(caller, "delete checkpoints");
        String name = Args.string(args, "name");
        partitions.get(name);
        boolean byEpoch = args.hasNonNull("epoch");
        boolean byKeep = args.hasNonNull("keep");
        if (byEpoch == byKeep) {
            throw Args.invalid("delete needs exactly one of \"epoch\" and \"keep\"");
        }
        List<Long> deleted;
        if (byEpoch) {
            long epoch = Args.longArg(args, "epoch");
            if (store.epochs(name).stream().noneMatch(e -> e.epoch() == epoch)) {
                throw new SlsException(ErrorCode.NOT_FOUND, "partition " + name + " has no checkpoint at epoch " + epoch);
            }
            store.deleteEpoch(name, epoch);
            deleted = List.of(epoch);
        } else {
            long keep = Args.longArg(args, "keep");
            if (keep < 1) {
                throw Args.invalid("keep must be 1 or more, not " + keep);
            }
            deleted = store.prune(name, (int) keep);
        }
        log.info("partition {}: deleted epochs {}", name, deleted);
        ObjectNode r = Codec.MAPPER.createObjectNode();
        r.set("deleted", Codec.MAPPER.valueToTree(deleted));
        return r;
    }

    private JsonNode core(ObjectNode args, Caller caller) throws IOException {
        requireRoot(caller, "write core files");
        String name = Args.string(args, "name");
        partitions.get(name);
        long epoch = Args.optLong(args, "epoch", 0);
        long e = epoch != 0 ? epoch : store.lastEpoch(name).orElseThrow(
                () -> new SlsException(ErrorCode.NOT_FOUND, "partition " + name + " has no checkpoint"));
        long pid = Args.longArg(args, "pid");
        java.nio.file.Path out = java.nio.file.Path.of(Args.string(args, "path"));
        if (!out.isAbsolute()) {
            throw Args.invalid("path must be absolute: " + out);
        }
        byte[] core = new SnapshotView(store).core(name, e, (int) pid);
        java.nio.file.Files.write(out, core);
        log.info("partition {} epoch {}: core of pid {} written to {} ({} bytes)", name, e, pid, out, core.length);
        ObjectNode r = Codec.MAPPER.createObjectNode();
        r.put("bytes", core.length);
        r.put("epoch", e);
        return r;
    }

    private static void requireRoot(Caller caller, String what) {
        if (!caller.isRoot()) {
            throw new SlsException(ErrorCode.PERMISSION, "only root may " + what + " (caller uid " + caller.uid() + ")");
        }
    }

    /** Stops serving, finishes what is in flight, closes the store. Idempotent. */
    @Override
    public synchronized void close() {
        if (stopped.getCount() == 0) {
            return;
        }
        log.info("stopping");
        server.close();
        if (metrics != null) {
            metrics.close();
        }
        periodic.close();
        slfs.close();
        restorer.close();
        engine.close();
        reaper.close();
        store.close();
        log.info("store {} closed", config.store());
        stopped.countDown();
    }

    private static String versionOf() {
        String v = Daemon.class.getPackage().getImplementationVersion();
        return v != null ? v : "dev";
    }
}
