package org.sls.libsls;

/**
 * One committed checkpoint. Immutable.
 *
 * @param partition       partition name
 * @param epoch           the epoch number (store-wide, increasing)
 * @param parentEpoch     the epoch it builds on, 0 for none
 * @param committedMillis commit time, milliseconds since the epoch
 * @param pages           pages stored by this checkpoint
 * @param bytes           bytes stored by this checkpoint
 */
public record SnapshotInfo(String partition, long epoch, long parentEpoch, long committedMillis, long pages, long bytes) {
}
