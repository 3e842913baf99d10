package org.sls.slsd.restore;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Finds free address ranges given the ranges in use, for the scratch area (free in every
 * checkpointed address space and in the husk) and for parking a special mapping while another one
 * takes its place. Not thread-safe; one per question.
 */
final class AddressGaps {
    /** Lowest address considered: above mmap_min_addr and the traditional non-PIE text at 4 MiB. */
    static final long LOW = 0x10000000L;
    /** TASK_SIZE of a 4-level x86-64 address space. */
    static final long TASK_SIZE = 0x7ffffffff000L;
    /** Kept free around a chosen range so that it never touches a growsdown stack's guard gap. */
    private static final long MARGIN = 2L << 20;

    private final List<long[]> used = new ArrayList<>();

    void add(long start, long end) {
        if (start < TASK_SIZE) {
            used.add(new long[] {start, Math.min(end, TASK_SIZE)});
        }
    }

    /** The lowest address at or above {@link #LOW} where {@code size} bytes (plus margins) are free. */
    long find(long size) {
        used.sort(Comparator.comparingLong(r -> r[0]));
        long candidate = LOW;
        for (long[] r : used) {
            if (r[1] + MARGIN <= candidate) {
                continue;
            }
            if (r[0] >= candidate + size + MARGIN) {
                break;
            }
            candidate = Math.max(candidate, (r[1] + MARGIN + 0xfff) & ~0xfffL);
        }
        if (candidate + size > TASK_SIZE) {
            throw new IllegalStateException("no free range of " + size + " bytes in the address space");
        }
        return candidate;
    }
}
