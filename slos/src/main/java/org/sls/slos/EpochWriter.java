package org.sls.slos;

import java.nio.ByteBuffer;

/**
 * Writes one epoch of one partition: pages, holes, truncates, deletes and named blobs (the
 * manifest), then {@link #commit()} makes it durable and visible atomically. Within one epoch
 * the last operation on a page wins. Closing without commit aborts: nothing becomes visible.
 * Not thread-safe: one thread per writer (several writers may run at once).
 */
public interface EpochWriter extends AutoCloseable {
    /** The epoch number this writer will commit. */
    long epoch();

    /**
     * Stores one page (the {@link Layout#PAGE_SIZE} bytes from the buffer's position; the
     * position is not changed). A page of zeros is recorded as a hole and takes no space.
     */
    void writePage(long objectId, long pageIndex, ByteBuffer page4k);

    /** Records that the page reads as zeros from this epoch on (MADV_DONTNEED, punched hole). */
    void writeHole(long objectId, long pageIndex);

    /** Hides every page at index {@code >= pages} written in earlier epochs (and earlier in this one). */
    void truncate(long objectId, long pages);

    /** Deletes the object as of this epoch; pages written to it later in this epoch recreate it. */
    void deleteObject(long objectId);

    /** Stores a named blob of this epoch (for instance "manifest.json"); replaces one of the same name. */
    void putBlob(String name, byte[] data);

    /** Makes the epoch durable and visible; returns when it is. The writer is finished afterwards. */
    EpochInfo commit();

    /** Aborts the epoch unless it was committed. Idempotent. */
    @Override
    void close();
}
