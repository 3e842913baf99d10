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
 * @param phases       microseconds per step of the checkpoint (smaps, stagingwait, reserve and, with
 *                     memory.precopy on, precopy before the freeze; freeze, checks, fds, fdwait,
 *                     memwait, regs, proc, scanwait, inject, scan, copy, track,
 *                     shared, thaw frozen; verify, write after the thaw); steps that took no time are
 *                     left out
 */
public record CheckpointInfo(String partition, long epoch, long parentEpoch, long frozenMicros, long pages, long bytes,
                             long commitMicros, List<Integer> pids, boolean killed, List<String> locked,
                             java.util.Map<String, Long> phases) {
    public CheckpointInfo {
        locked = locked == null ? List.of() : List.copyOf(locked);
        phases = phases == null ? java.util.Map.of() : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(phases));
    }
}
