package org.sls.slfs;

import org.sls.slos.EpochWriter;

/**
 * The frozen state of one partition's files, taken by {@link Slfs#snapshot} while the partition's
 * processes were frozen. {@link #writeTo} (after the processes resume, before the checkpoint
 * epoch commits) commits that state as an slfs epoch and records it in the checkpoint epoch
 * (blob {@code slfs.json}); {@link #abandon} gives the snapshot up when the checkpoint fails
 * (the changes stay in the live tree and are committed by the next write-back). Use once.
 * Thread-safe, but meant for one caller.
 */
public final class FsSnapshot {
    private final PartitionFs fs;
    private final Layer layer;
    private final long knownEpoch;
    private volatile long epoch;

    FsSnapshot(PartitionFs fs, Layer layer, long knownEpoch) {
        this.fs = fs;
        this.layer = layer;
        this.knownEpoch = knownEpoch;
    }

    /** The partition whose files this is. */
    public String partition() {
        return fs.partition;
    }

    /**
     * Makes the frozen state durable as an slfs epoch and names it in checkpoint epoch {@code w}
     * (blob {@code slfs.json}). Durable when it returns; throws {@link org.sls.slos.StoreException}
     * (FULL when the store is full).
     */
    public void writeTo(EpochWriter w) {
        long s = fs.commitSnapshot(layer, knownEpoch, w.epoch());
        w.putBlob(PartitionFs.REF_BLOB, PartitionFs.refBlob(fs.lineage, s));
        epoch = s;
    }

    /** The slfs epoch written by {@link #writeTo}, 0 before. */
    public long fsEpoch() {
        return epoch;
    }

    /** Gives the snapshot up (the checkpoint failed). The files keep their current state. */
    public void abandon() {
        if (epoch != 0) {
            fs.unpin(epoch);
        } else if (layer == null) {
            fs.unpin(knownEpoch);
        }
    }
}
