package org.sls.libsls;

import java.util.List;

/**
 * What {@code slsctl status} shows: the daemon, its store and every partition. Immutable.
 *
 * @param version    slsd version
 * @param pid        slsd's pid
 * @param store      the store
 * @param partitions every partition, by name
 */
public record Status(String version, long pid, StoreInfo store, List<PartitionInfo> partitions) {
}
