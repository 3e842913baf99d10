package org.sls.slsd.checkpoint;

import java.util.List;

/**
 * The outcome of one committed checkpoint. Immutable.
 *
 * @param epoch        the committed epoch
 * @param frozenMicros how long the processes were stopped (freeze to last thread resumed, or to
 *                     the kill of a checkpoint --kill)
 * @param pages        pages written to the store in this epoch (holes included)
 * @param bytes        bytes of page data written
 * @param commitMicros time from resume (or from the capture, for --kill) to the epoch being durable
 * @param pids         the processes in the checkpoint, parents first
 * @param killed       whether the processes were killed after the commit (checkpoint --kill)
 * @param locked       the connections to outside peers under the network lock ("local -> remote")
 * @param phasesMicros where the time went, per step ({@link org.sls.slsd.capture.CaptureTimings.Phase} keys)
 * @param parentEpoch  the epoch it builds on, 0 for none
 */
public record CheckpointResult(long epoch, long frozenMicros, long pages, long bytes, long commitMicros,
                               List<Integer> pids, boolean killed, List<String> locked,
                               java.util.Map<String, Long> phasesMicros, long parentEpoch) {
}
