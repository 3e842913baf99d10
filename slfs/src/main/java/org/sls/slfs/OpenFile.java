package org.sls.slfs;

/**
 * What a FUSE file handle refers to: a live file of a partition, a file of a snapshot's
 * {@code files/} tree, or bytes served from {@link SnapshotContent}. Immutable.
 */
sealed interface OpenFile {
    /** A live file; stale once the partition is rolled back (generation changed). */
    record Live(PartitionFs fs, Inode inode, long generation) implements OpenFile {}

    /** A file of a read-only snapshot tree. */
    record Snap(SnapshotTree tree, InodeRecord inode) implements OpenFile {}

    /** Bytes produced by the daemon (manifest.json, state.json, maps, core). */
    record Bytes(byte[] data) implements OpenFile {}
}
