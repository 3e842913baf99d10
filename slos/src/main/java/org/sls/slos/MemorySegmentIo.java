package org.sls.slos;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * In-memory {@link SegmentIo}, allocated lazily in 1 MiB chunks. With crash tracking on it keeps
 * two images, the written one and the synced one; {@link #crash()} throws away every byte not
 * synced, as a power cut would. Used by the memory backend (tracking off) and by crash tests.
 * Thread-safe (synchronized).
 */
public final class MemorySegmentIo implements SegmentIo {
    private static final int CHUNK_SHIFT = 20;
    private static final int CHUNK = 1 << CHUNK_SHIFT;

    private final long size;
    private final boolean trackCrash;
    private final String name;
    private final Map<Long, byte[]> written = new HashMap<>();
    private final Map<Long, byte[]> synced = new HashMap<>();
    private final java.util.Set<Long> dirty = new java.util.HashSet<>();

    /** An in-memory device of {@code size} bytes; {@code trackCrash} keeps the synced image for {@link #crash()}. */
    public MemorySegmentIo(String name, long size, boolean trackCrash) {
        this.name = name;
        this.size = size;
        this.trackCrash = trackCrash;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public boolean memoryCopy() {
        return true;
    }

    @Override
    public int alignment() {
        return 1;
    }

    @Override
    public ByteBuffer allocate(int bytes) {
        return ByteBuffer.allocateDirect(bytes);
    }

    @Override
    public synchronized void write(long offset, ByteBuffer src) {
        check(offset, src.remaining());
        long pos = offset;
        while (src.hasRemaining()) {
            byte[] c = written.computeIfAbsent(pos >>> CHUNK_SHIFT, k -> new byte[CHUNK]);
            if (trackCrash) {
                dirty.add(pos >>> CHUNK_SHIFT);
            }
            int co = (int) (pos & (CHUNK - 1));
            int n = Math.min(src.remaining(), CHUNK - co);
            src.get(c, co, n);
            pos += n;
        }
    }

    @Override
    public synchronized void sync() {
        if (!trackCrash) {
            return;
        }
        for (Long k : dirty) {
            synced.put(k, written.get(k).clone());
        }
        dirty.clear();
    }

    @Override
    public synchronized void read(long offset, ByteBuffer dst) {
        check(offset, dst.remaining());
        long pos = offset;
        while (dst.hasRemaining()) {
            byte[] c = written.get(pos >>> CHUNK_SHIFT);
            int co = (int) (pos & (CHUNK - 1));
            int n = Math.min(dst.remaining(), CHUNK - co);
            if (c == null) {
                for (int i = 0; i < n; i++) {
                    dst.put((byte) 0);
                }
            } else {
                dst.put(c, co, n);
            }
            pos += n;
        }
    }

    /** Simulates a power cut: every byte written since the last {@link #sync()} is lost. */
    public synchronized void crash() {
        if (!trackCrash) {
            throw new IllegalStateException("memory device " + name + " does not track syncs");
        }
        written.clear();
        dirty.clear();
        for (Map.Entry<Long, byte[]> e : synced.entrySet()) {
            written.put(e.getKey(), e.getValue().clone());
        }
    }

    /** Flips one byte (for corruption tests); the change counts as synced. */
    public synchronized void flip(long offset) {
        byte[] c = written.computeIfAbsent(offset >>> CHUNK_SHIFT, k -> new byte[CHUNK]);
        c[(int) (offset & (CHUNK - 1))] ^= 0x5a;
        if (trackCrash) {
            synced.put(offset >>> CHUNK_SHIFT, c.clone());
        }
    }

    private void check(long offset, int length) {
        if (offset < 0 || offset + length > size) {
            throw new StoreException(StoreException.Kind.INVALID,
                    "memory store " + name + ": I/O at [" + offset + ", " + (offset + length) + ") outside its " + size + " bytes");
        }
    }

    @Override
    public String describe() {
        return "memory " + name;
    }

    @Override
    public void close() {
        // Kept: a crash test reopens the same device after close.
    }
}
