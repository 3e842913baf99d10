package org.sls.slsd.restore;

import java.util.List;
import java.util.Map;

/**
 * The outcome of a restore. Immutable.
 *
 * @param epoch        the epoch restored (resolved when 0 was asked for)
 * @param pids         the restored processes, parents first
 * @param pidMap       checkpointed pid to restored pid (identity unless new PIDs were asked for)
 * @param totalMicros  from the call to the processes running again (or stopped)
 * @param readMicros   time spent reading pages from slos, summed over the page workers (one per CPU,
 *                     running in parallel, so read and write together exceed the wall time)
 * @param writeMicros  time spent writing pages into the processes, summed over the page workers
 * @param injectMicros time spent in syscalls injected into the husks
 */
public record RestoreResult(long epoch, List<Integer> pids, Map<Integer, Integer> pidMap, long totalMicros,
                            long readMicros, long writeMicros, long injectMicros) {
    public RestoreResult {
        pids = List.copyOf(pids);
        pidMap = Map.copyOf(pidMap);
    }
}
