package org.sls.slos;

import java.nio.ByteBuffer;

/**
 * The store's data device: a byte range written at block-aligned offsets and made durable by
 * {@link #sync}. Implementations: {@link FileSegmentIo} (file or block device, O_DIRECT where
 * possible), {@link MappedSegmentIo} (pmem style, mapped and flushed by range) and
 * {@link MemorySegmentIo} (in memory; can drop unsynced bytes to simulate a crash).
 * Implementations are thread-safe for writes and reads of disjoint ranges.
 */
public interface SegmentIo extends AutoCloseable {
    /** Size in bytes. */
    long size();

    /** Required alignment of offsets, lengths and buffer addresses for {@link #write}. */
    int alignment();

    /**
     * A direct buffer of {@code bytes} aligned for {@link #write}. Callers must still set the
     * limit of what they write explicitly rather than by {@code clear()}: an implementation may
     * return more capacity than asked for.
     */
    default ByteBuffer allocate(int bytes) {
        return ByteBuffer.allocateDirect(bytes + alignment()).alignedSlice(alignment()).slice(0, bytes);
    }

    /** Writes src's remaining bytes at {@code offset}; not durable until {@link #sync}. */
    void write(long offset, ByteBuffer src);

    /** Makes every byte written so far durable. */
    void sync();

    /** Makes the bytes written in [offset, offset+length) durable; may sync more. */
    default void sync(long offset, long length) {
        sync();
    }

    /**
     * True when a write is a memory copy (mapped or in-memory device): writers then skip their
     * background write thread, and commits sync the written ranges one by one.
     */
    default boolean memoryCopy() {
        return false;
    }

    /** Fills dst's remaining bytes from {@code offset}. */
    void read(long offset, ByteBuffer dst);

    /** For logs and errors: what is underneath ("file /x.img, O_DIRECT"). */
    String describe();

    @Override
    void close();
}
