package org.sls.slos;

import java.nio.ByteBuffer;

/**
 * Reads objects as of one epoch: per page the newest version among the epoch's ancestry, holes
 * and truncated or deleted pages as zeros. Every page read is checked against its CRC32C.
 * Thread-safe.
 */
public interface ObjectReader {
    /** The epoch this reader sees. */
    long epoch();

    /**
     * Reads one page into {@code dst} (at its position, {@link Layout#PAGE_SIZE} bytes; the position
     * advances). Returns false and writes zeros when the page is a hole or absent.
     */
    boolean readPage(long objectId, long pageIndex, ByteBuffer dst);

    /**
     * Reads {@code count} consecutive pages into {@code dst} with as few I/Os as the layout
     * allows; zeros where there is no data. Returns how many pages had data.
     */
    int readPages(long objectId, long firstPage, int count, ByteBuffer dst);

    /** Indices of the pages holding data at this epoch, ascending. */
    long[] pages(long objectId);

    /** True when the object exists at this epoch (written and not deleted since). */
    boolean exists(long objectId);
}
