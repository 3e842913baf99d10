package org.sls.slsd.checkpoint;

import java.util.List;

/**
 * The outcome of one committed checkpoint. Immutable.
 *
 * @param epoch        the committed epoch
 * @param frozenMicros how long the processes were stopped (freeze to last thread resumed)
 * @param pages        pages written to the store in this epoch (holes included)
 * @param bytes        bytes of page data written
 * @param commitMicros time from resume to the epoch being durable
 * @param pids         the processes in the checkpoint, parents first
 */
public record CheckpointResult(long epoch, long frozenMicros, long pages, long bytes, long commitMicros,
                               List<Integer> pids) {}
