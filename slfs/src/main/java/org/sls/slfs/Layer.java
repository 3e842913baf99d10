package org.sls.slfs;

import java.util.HashMap;

/**
 * Everything that changed in one partition's tree between two freezes: inode records (null value
 * = the inode is gone), directory entries (null value = removed) and page layers per inode. A
 * layer is frozen under the partition's gate in O(changes) and later committed as one slfs epoch
 * whose parent is the previous layer's epoch; until then reads see it above the store.
 * Immutable after freezing except {@link #epoch}, {@link #dropped} and {@link #snapshot}.
 */
final class Layer {
    /** A directory entry key. */
    record Dentry(long dir, String name) {}

    final long seq;
    final HashMap<Long, InodeRecord> inodes = new HashMap<>();
    final HashMap<Dentry, Long> dentries = new HashMap<>();
    final HashMap<Long, PageLayer> pages = new HashMap<>();
    long bytes;
    /** The slfs epoch this layer became, 0 until committed. */
    volatile long epoch;
    /** Set when a rollback threw the layer away before it was committed. */
    volatile boolean dropped;
    /**
     * Set (under the gate's write lock) when a checkpoint's snapshot is this layer: whoever commits
     * it pins its epoch in the same step, before any collection can see it unreferenced.
     */
    boolean snapshot;

    Layer(long seq) {
        this.seq = seq;
    }
}
