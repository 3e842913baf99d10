package org.sls.libsls;

import java.util.List;

/**
 * A partition as {@code status} reports it: its settings, who is in it, and checkpoint
 * statistics since slsd started. Immutable.
 *
 * @param name                 partition name
 * @param backend              {@code slos} or {@code memory}
 * @param mode                 {@code full} or {@code delta}
 * @param periodMs             checkpoint period asked for, 0 when only on request
 * @param keep                 newest checkpoints kept
 * @param persistent           false for the memory backend: its checkpoints die with slsd
 * @param attached             pids attached to the partition
 * @param lastEpoch            newest committed epoch, 0 when none
 * @param epochs               number of committed checkpoints held
 * @param checkpoints          checkpoints committed since slsd started
 * @param failures             checkpoints that failed since slsd started
 * @param lastFailure          why the last one failed, empty when none did
 * @param frozenLastMicros     time frozen by the last checkpoint (µs), 0 when none
 * @param frozenMedianMicros   median frozen time (µs)
 * @param frozenP99Micros      99th percentile frozen time (µs)
 * @param frozenMaxMicros      longest frozen time (µs)
 * @param bytesPerCheckpoint   mean bytes written per checkpoint
 * @param durableMedianMicros  median time from resume to durable (µs)
 * @param checkpointsPerSecond checkpoints per second over the last 10 s
 * @param effectivePeriodMs    the period achieved (longer than asked when the store cannot keep up, or to keep
 *                             the processes within slsd's frozen-time budget and slsd within its CPU
 *                             budget), 0 without a period
 * @param tracker              how dirty pages are found ({@code uffd-wp-async}, {@code full}), empty when unknown
 * @param stretchedBy          why the period achieved is longer than asked: {@code frozen-time budget},
 *                             {@code CPU budget},
 *                             {@code checkpoint time} (captures or store writes take longer than the
 *                             period), {@code backoff after failures} (a failing checkpoint is retried
 *                             less and less often), or empty when it is not
 */
public record PartitionInfo(String name, String backend, String mode, long periodMs, int keep, boolean persistent,
                            List<Integer> attached, long lastEpoch, int epochs, long checkpoints, long failures,
                            String lastFailure, long frozenLastMicros, long frozenMedianMicros, long frozenP99Micros,
                            long frozenMaxMicros, long bytesPerCheckpoint, long durableMedianMicros,
                            double checkpointsPerSecond, double effectivePeriodMs, String tracker, String stretchedBy) {
}
