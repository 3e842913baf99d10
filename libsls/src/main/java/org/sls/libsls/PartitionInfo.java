package org.sls.libsls;

import java.util.List;

/**
 * A partition as {@code status} reports it: its settings, who is in it, and checkpoint
 * statistics since slsd started. Immutable.
 *
 * @param name              partition name
 * @param backend           {@code slos} or {@code memory}
 * @param mode              {@code full} or {@code delta}
 * @param periodMs          checkpoint period, 0 when only on request
 * @param keep              newest checkpoints kept
 * @param persistent        false for the memory backend: its checkpoints die with slsd
 * @param attached          pids attached to the partition
 * @param lastEpoch         newest committed epoch, 0 when none
 * @param epochs            number of committed checkpoints held
 * @param checkpoints       checkpoints taken since slsd started
 * @param frozenLastMicros  time frozen by the last checkpoint (µs), 0 when none
 * @param frozenMedianMicros median frozen time (µs)
 * @param frozenMaxMicros   longest frozen time (µs)
 * @param tracker           how dirty pages are found ({@code uffd-wp}, {@code full}), empty when unknown
 */
public record PartitionInfo(String name, String backend, String mode, long periodMs, int keep, boolean persistent,
                            List<Integer> attached, long lastEpoch, int epochs, long checkpoints,
                            long frozenLastMicros, long frozenMedianMicros, long frozenMaxMicros, String tracker) {
}
