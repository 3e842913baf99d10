package org.sls.slfs;

import java.util.HashMap;

/**
 * Pages of one file written during one interval (between two freezes), plus the lowest truncation
 * made in that interval: pages at or above {@link #hideFrom} in older layers and in the store
 * read as zeros. Mutable while it is an inode's dirty layer (under the inode's monitor);
 * immutable once frozen into a {@link Layer}.
 */
final class PageLayer {
    final HashMap<Long, byte[]> pages = new HashMap<>();
    long hideFrom = Long.MAX_VALUE;

    boolean isEmpty() {
        return pages.isEmpty() && hideFrom == Long.MAX_VALUE;
    }
}
