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
 */
public record CheckpointInfo(String partition, long epoch, long parentEpoch, long frozenMicros, long pages, long bytes,
                             long commitMicros, List<Integer> pids) {
}
