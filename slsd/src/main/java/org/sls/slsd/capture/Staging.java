package org.sls.slsd.capture;

import org.sls.slsd.linux.NativeMemory;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * slsd's off-heap staging area: pages copied out of frozen processes wait here until the processes
 * run again and the pages are written to the store. Chunks of {@value #CHUNK} bytes mapped with
 * transparent huge pages and pre-faulted by {@link #reserve} before the freeze so that copying costs
 * no page faults. Not thread-safe: one checkpoint at a time.
 */
public final class Staging implements AutoCloseable {
    public static final int CHUNK = 64 << 20;
    private final List<NativeMemory> chunks = new ArrayList<>();
    private final List<ByteBuffer> views = new ArrayList<>();
    private int current;
    private long used;

    /** One allocation: {@code pages} pages at {@code offset} of chunk {@code chunk}. */
    public record Slot(int chunk, long offset, long pages) {}

    /** Makes sure {@code bytes} more bytes can be staged without mapping memory during the freeze. */
    public void reserve(long bytes) {
        long free = 0;
        if (!chunks.isEmpty()) {
            free = CHUNK - used + (long) (chunks.size() - current - 1) * CHUNK;
        }
        while (free < bytes) {
            addChunk();
            free += CHUNK;
        }
    }

    private void addChunk() {
        NativeMemory m = NativeMemory.map(CHUNK, true, true);
        chunks.add(m);
        views.add(m.buffer(0, CHUNK));
    }

    /** Allocates up to {@code pages} contiguous pages (fewer at the end of a chunk). */
    public Slot alloc(long pages) {
        if (chunks.isEmpty()) {
            addChunk();
        }
        if (used == CHUNK) {
            current++;
            used = 0;
            if (current == chunks.size()) {
                addChunk();
            }
        }
        long n = Math.min(pages, (CHUNK - used) >>> 12);
        Slot s = new Slot(current, used, n);
        used += n << 12;
        return s;
    }

    public long address(int chunk) { return chunks.get(chunk).address(); }

    /** A buffer positioned at one staged page (shares the chunk's memory). */
    public ByteBuffer page(int chunk, long offset) {
        ByteBuffer b = views.get(chunk).duplicate();
        b.limit((int) offset + 4096).position((int) offset);
        return b;
    }

    /** Bytes staged since the last reset. */
    public long stagedBytes() { return (long) current * CHUNK + used; }

    /** Forgets staged pages; keeps at most {@code retainBytes} of chunks mapped for next time. */
    public void reset(long retainBytes) {
        current = 0;
        used = 0;
        while (!chunks.isEmpty() && (long) chunks.size() * CHUNK > Math.max(retainBytes, CHUNK)) {
            chunks.remove(chunks.size() - 1).close();
            views.remove(views.size() - 1);
        }
    }

    @Override
    public void close() {
        chunks.forEach(NativeMemory::close);
        chunks.clear();
        views.clear();
    }
}
