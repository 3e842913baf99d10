package org.sls.slos;

/**
 * A partition as persisted in the store's metadata: its name, backend ({@code slos} or
 * {@code memory}), mode ({@code full} or {@code delta}), checkpoint period in ms (0 = on request
 * only), how many epochs to keep (0 = keep all) and its creation time. Immutable.
 */
public record PartitionRecord(String name, String backend, String mode, long periodMs, int keep, long createdMillis) {
    /** Backend that keeps epochs in the store; they survive restarts. */
    public static final String BACKEND_SLOS = "slos";
    /** Backend that keeps epochs in memory; they are lost when the store is closed. */
    public static final String BACKEND_MEMORY = "memory";

    /** True when this partition's epochs live in memory. */
    public boolean inMemory() {
        return BACKEND_MEMORY.equals(backend);
    }
}
