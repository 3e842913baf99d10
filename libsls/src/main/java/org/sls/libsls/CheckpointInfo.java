package org.sls.libsls;

import java.util.List;

/**
 * One committed checkpoint as {@code slsctl checkpoint --json} prints it. Immutable.
 *
 * @param partition    partition checkpointed
 * @param epoch        the new epoch
 * @param parentEpoch  the epoch it builds on, 0 for none
 * @param frozenMicros how long the processes were stopped
 * @param pages        pages written (holes included)
 * @param bytes        bytes of page data written
 * @param commitMicros time from resume to durable
 * @param pids         processes included, parents first
 * @param killed       whether the processes were killed after the commit ({@code checkpoint --kill})
 * @param locked       with {@code killed}: the connections to peers outside the partition held by
 *                     the network lock until the restore ("local -> remote")
 */
public record CheckpointInfo(String partition, long epoch, long parentEpoch, long frozenMicros, long pages, long bytes,
                             long commitMicros, List<Integer> pids, boolean killed, List<String> locked) {
    public CheckpointInfo {
        locked = locked == null ? List.of() : List.copyOf(locked);
    }
}
