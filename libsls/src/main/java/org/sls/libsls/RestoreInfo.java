package org.sls.libsls;

import java.util.List;
import java.util.Map;

/**
 * What a restore brought back, as {@code slsctl restore --json} prints it. Immutable.
 *
 * @param partition    partition restored
 * @param epoch        epoch restored
 * @param pids         the restored processes, parents first
 * @param pidMap       checkpointed pid to restored pid (the same unless new PIDs were asked for)
 * @param totalMicros  from the request to the processes running again (or stopped)
 * @param readMicros   reading pages from the store
 * @param writeMicros  writing pages into the processes
 * @param injectMicros system calls injected into the processes being rebuilt
 */
public record RestoreInfo(String partition, long epoch, List<Integer> pids, Map<Integer, Integer> pidMap, long totalMicros,
                          long readMicros, long writeMicros, long injectMicros) {
}
