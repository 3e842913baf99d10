package org.sls.libsls;

import java.util.List;

/**
 * What {@code slsctl status} shows: the daemon, its store and every partition. Immutable.
 *
 * @param version    slsd version
 * @param pid         slsd's pid
 * @param cpuShare    the share of the machine's CPU time (all cores) slsd's threads used over about the last
 *                    10 s (0.05 is 5%), the JVM's compiler and collector threads aside
 * @param cpuShareMax the CPU budget of periodic checkpoints ({@code cpu.share.max}; 1 when lifted)
 * @param store       the store
 * @param partitions  every partition, by name
 */
public record Status(String version, long pid, double cpuShare, double cpuShareMax, StoreInfo store,
                     List<PartitionInfo> partitions) {
}
