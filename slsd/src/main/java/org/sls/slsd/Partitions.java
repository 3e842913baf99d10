package org.sls.slsd;

import org.sls.libsls.PartitionInfo;
import org.sls.libsls.PartitionSpec;
import org.sls.libsls.SnapshotInfo;
import org.sls.libsls.protocol.ErrorCode;
import org.sls.libsls.protocol.SlsException;
import org.sls.slos.EpochInfo;
import org.sls.slos.PartitionRecord;
import org.sls.slos.Slos;
import org.sls.slfs.Slfs;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The partitions slsd serves: their settings live in the store (so they survive a restart),
 * their runtime statistics here. Thread-safe.
 */
public final class Partitions {
    /** The partition {@code attach} uses when none is named, created on demand as Aurora does. */
    public static final String DEFAULT = "default";
    /** Checkpoints kept per partition when {@code --keep} is not given. */
    public static final int DEFAULT_KEEP = 16;
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,63}");
    private static final Set<String> BACKENDS = Set.of("slos", "memory");
    private static final Set<String> MODES = Set.of("full", "delta");

    private final Slos store;
    private final Map<String, CheckpointStats> stats = new ConcurrentHashMap<>();

    public Partitions(Slos store) {
        this.store = store;
    }

    /** Checks a spec and creates the partition; EXISTS when the name is taken. */
    public synchronized PartitionRecord add(PartitionSpec spec) {
        String name = spec.name();
        if (name == null || !NAME.matcher(name).matches()) {
            throw new SlsException(ErrorCode.INVALID_ARGUMENT, "invalid partition name \"" + name
                    + "\": use 1 to 64 letters, digits, '.', '_' or '-', not starting with '.' or '-'");
        }
        if (!BACKENDS.contains(spec.backend())) {
            throw new SlsException(ErrorCode.INVALID_ARGUMENT, "partition " + name + ": unknown backend \"" + spec.backend() + "\" (slos or memory)");
        }
        if (!MODES.contains(spec.mode())) {
            throw new SlsException(ErrorCode.INVALID_ARGUMENT, "partition " + name + ": unknown mode \"" + spec.mode() + "\" (full or delta)");
        }
        if (spec.periodMs() < 0) {
            throw new SlsException(ErrorCode.INVALID_ARGUMENT, "partition " + name + ": period must be 0 or more milliseconds, not " + spec.periodMs());
        }
        if (spec.keep() < 0) {
            throw new SlsException(ErrorCode.INVALID_ARGUMENT, "partition " + name + ": keep must be 0 (default) or more, not " + spec.keep());
        }
        if (store.partition(name).isPresent()) {
            throw new SlsException(ErrorCode.EXISTS, "partition " + name + " already exists");
        }
        int keep = spec.keep() == 0 ? DEFAULT_KEEP : spec.keep();
        return store.createPartition(new PartitionRecord(name, spec.backend(), spec.mode(), spec.periodMs(), keep, System.currentTimeMillis()));
    }

    /** The users' partitions: not the ones slfs keeps its files in. */
    public List<PartitionRecord> visible() {
        return store.partitions().stream().filter(r -> !Slfs.isInternalPartition(r.name())).toList();
    }

    /** The partition named {@code name}; NOT_FOUND when there is none. */
    public PartitionRecord get(String name) {
        return store.partition(name).filter(r -> !Slfs.isInternalPartition(r.name())).orElseThrow(() -> new SlsException(ErrorCode.NOT_FOUND, "no partition named " + name));
    }

    /** Deletes a partition and its checkpoints; NOT_FOUND when there is none. */
    public synchronized void delete(String name) {
        get(name);
        store.deletePartition(name);
        stats.remove(name);
    }

    /** Statistics of a partition, created on first use. */
    public CheckpointStats stats(String name) {
        return stats.computeIfAbsent(name, n -> new CheckpointStats());
    }

    /** Every partition as status shows it; {@code attached} and {@code tracker} come from the checkpoint engine. */
    public List<PartitionInfo> describe(Function<String, List<Integer>> attached, Function<String, String> tracker,
                                        Function<String, Double> effectivePeriodMs, Function<String, String> stretchedBy) {
        List<PartitionInfo> out = new ArrayList<>();
        for (PartitionRecord r : visible()) {
            CheckpointStats.Snapshot s = stats(r.name()).snapshot();
            List<EpochInfo> epochs = store.epochs(r.name());
            long last = epochs.isEmpty() ? 0 : epochs.get(epochs.size() - 1).epoch();
            out.add(new PartitionInfo(r.name(), r.backend(), r.mode(), r.periodMs(), r.keep(), !"memory".equals(r.backend()),
                    attached.apply(r.name()), last, epochs.size(), s.count(), s.failures(), s.lastFailure(), s.lastMicros(),
                    s.medianMicros(), s.p99Micros(), s.maxMicros(), s.bytesPerCheckpoint(), s.durableMedianMicros(),
                    s.perSecond(), effectivePeriodMs.apply(r.name()), tracker.apply(r.name()), stretchedBy.apply(r.name())));
        }
        return out;
    }

    /** Committed checkpoints of one partition, or of all when {@code name} is null. */
    public List<SnapshotInfo> snapshots(String name) {
        List<PartitionRecord> which = name == null ? visible() : List.of(get(name));
        List<SnapshotInfo> out = new ArrayList<>();
        for (PartitionRecord r : which) {
            for (EpochInfo e : store.epochs(r.name())) {
                out.add(new SnapshotInfo(r.name(), e.epoch(), e.parentEpoch(), e.committedMillis(), e.pages(), e.bytes()));
            }
        }
        return out;
    }
}
