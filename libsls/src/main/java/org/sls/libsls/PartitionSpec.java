package org.sls.libsls;

/**
 * The settings a partition is created with (Aurora's {@code slsctl partadd}). Immutable.
 *
 * @param name     the partition's name: 1 to 64 characters of letters, digits, '.', '_' or '-'
 * @param backend  {@code slos} (in the store, survives reboot) or {@code memory} (in slsd's memory)
 * @param mode     {@code full} or {@code delta} (incremental)
 * @param periodMs checkpoint period in milliseconds, 0 for checkpoints on request only
 * @param keep     how many newest checkpoints to keep, 0 for the store's default
 */
public record PartitionSpec(String name, String backend, String mode, long periodMs, int keep) {

    /** A partition with default settings: slos backend, delta mode, no period. */
    public static PartitionSpec named(String name) {
        return new PartitionSpec(name, "slos", "delta", 0, 0);
    }
}
