package org.sls.slsd.capture;

import org.sls.slsd.linux.NativeMemory;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * slsd's off-heap staging area: pages copied out of frozen processes wait here until the processes
 * run again and the pages are written to the store. Chunks of up to {@value #CHUNK} bytes (a
 * multiple of 2 MiB: what {@link #reserve} asks for) mapped with transparent huge pages and
 * pre-faulted by {@link #reserve} before the freeze so that copying costs no page faults. Not
 * thread-safe: used by one checkpoint at a time (its capture, then its store writes).
 */
public final class Staging implements AutoCloseable {
    public static final int CHUNK = 64 << 20;
    private static final int SMALLEST = 2 << 20;
    private final List<NativeMemory> chunks = new ArrayList<>();
    private final List<ByteBuffer> views = new ArrayList<>();
    private int current;
    private long used;

    /** One allocation: {@code pages} pages at {@code offset} of chunk {@code chunk}. */
    public record Slot(int chunk, long offset, long pages) {}

    /** Makes sure {@code bytes} more bytes can be staged without mapping memory during the freeze. */
    public void reserve(long bytes) {
        reserve(bytes, n -> { });
    }

    /** As {@link #reserve(long)}, telling {@code progress} the bytes mapped as it goes. */
    public void reserve(long bytes, java.util.function.LongConsumer progress) {
        long free = 0;
        if (!chunks.isEmpty()) {
            free = size(current) - used;
            for (int i = current + 1; i < chunks.size(); i++) {
                free += size(i);
            }
        }
        while (free < bytes) {
            long n = addChunk(bytes - free);
            free += n;
            progress.accept(n);
        }
    }

    private long size(int chunk) {
        return chunks.get(chunk).size();
    }

    /** Maps a chunk of about {@code want} bytes (2 MiB to {@value #CHUNK}); returns its size. */
    private long addChunk(long want) {
        int size = (int) Math.min(CHUNK, Math.max(SMALLEST, (want + SMALLEST - 1) & -(long) SMALLEST));
        NativeMemory m = NativeMemory.map(size, true, true);
        chunks.add(m);
        views.add(m.buffer(0, size));
        return size;
    }

    /** Allocates up to {@code pages} contiguous pages (fewer at the end of a chunk). */
    public Slot alloc(long pages) {
        if (chunks.isEmpty()) {
            addChunk(CHUNK);
        }
        if (used == size(current)) {
            current++;
            used = 0;
            if (current == chunks.size()) {
                addChunk(CHUNK);
            }
        }
        long n = Math.min(pages, (size(current) - used) >>> 12);
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
    public long stagedBytes() {
        long n = used;
        for (int i = 0; i < current && i < chunks.size(); i++) {
            n += size(i);
        }
        return n;
    }

    /** Bytes of memory mapped for staging (what it costs). */
    public long mappedBytes() {
        long n = 0;
        for (NativeMemory m : chunks) {
            n += m.size();
        }
        return n;
    }

    /** Forgets staged pages; keeps at most {@code retainBytes} of chunks mapped for next time (at least one). */
    public void reset(long retainBytes) {
        current = 0;
        used = 0;
        while (chunks.size() > 1 && mappedBytes() > retainBytes) {
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
