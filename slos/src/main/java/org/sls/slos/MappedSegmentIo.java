package org.sls.slos;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * pmem-style {@link SegmentIo}: the file is mapped (in chunks of at most 1 GiB, since a Java
 * mapping is limited to 2 GiB) and made durable by flushing the written ranges with
 * {@link MappedByteBuffer#force(int, int)}. On a DAX file system it maps with
 * {@code ExtendedMapMode.READ_WRITE_SYNC} (MAP_SYNC: force becomes cache-line write-back);
 * elsewhere, or when MAP_SYNC is refused, it uses a plain shared mapping, and says so in the log.
 * Thread-safe for disjoint ranges.
 */
public final class MappedSegmentIo implements SegmentIo {
    private static final Logger log = LoggerFactory.getLogger(MappedSegmentIo.class);
    private static final int CHUNK_SHIFT = 30;
    private static final long CHUNK = 1L << CHUNK_SHIFT;

    private final Path path;
    private final FileChannel channel;
    private final MappedByteBuffer[] chunks;
    private final long size;
    private final boolean mapSync;

    private MappedSegmentIo(Path path, FileChannel channel, MappedByteBuffer[] chunks, long size, boolean mapSync) {
        this.path = path;
        this.channel = channel;
        this.chunks = chunks;
        this.size = size;
        this.mapSync = mapSync;
    }

    /** Maps {@code size} bytes of {@code path}, asking for MAP_SYNC when {@code trySync}. */
    public static MappedSegmentIo open(Path path, long size, boolean trySync) {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new StoreException(StoreException.Kind.IO, "store " + path + ": cannot open: " + e, e);
        }
        int n = (int) ((size + CHUNK - 1) >>> CHUNK_SHIFT);
        MappedByteBuffer[] chunks = new MappedByteBuffer[n];
        boolean sync = trySync;
        try {
            for (int i = 0; i < n; i++) {
                long off = (long) i << CHUNK_SHIFT;
                long len = Math.min(CHUNK, size - off);
                if (sync) {
                    try {
                        chunks[i] = ch.map(jdk.nio.mapmode.ExtendedMapMode.READ_WRITE_SYNC, off, len);
                        continue;
                    } catch (IOException | UnsupportedOperationException e) {
                        log.info("store {}: MAP_SYNC refused ({}); using a shared mapping and msync", path, e.toString());
                        sync = false;
                        for (int j = 0; j < i; j++) {
                            chunks[j] = ch.map(FileChannel.MapMode.READ_WRITE, (long) j << CHUNK_SHIFT, Math.min(CHUNK, size - ((long) j << CHUNK_SHIFT)));
                        }
                    }
                }
                chunks[i] = ch.map(FileChannel.MapMode.READ_WRITE, off, len);
            }
        } catch (IOException e) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // already failing
            }
            throw new StoreException(StoreException.Kind.IO, "store " + path + ": cannot map " + size + " bytes: " + e, e);
        }
        log.info("store {}: data mapped {}", path, sync ? "with MAP_SYNC (pmem)" : "shared, flushed with msync");
        return new MappedSegmentIo(path, ch, chunks, size, sync);
    }

    /** True when mapped with MAP_SYNC. */
    public boolean mapSync() {
        return mapSync;
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
    public void write(long offset, ByteBuffer src) {
        check(offset, src.remaining());
        long pos = offset;
        while (src.hasRemaining()) {
            int ci = (int) (pos >>> CHUNK_SHIFT);
            int co = (int) (pos & (CHUNK - 1));
            int n = (int) Math.min(src.remaining(), chunks[ci].capacity() - co);
            ByteBuffer part = src.duplicate();
            part.limit(part.position() + n);
            chunks[ci].put(co, part, part.position(), n);
            src.position(src.position() + n);
            pos += n;
        }
    }

    @Override
    public void sync() {
        for (MappedByteBuffer c : chunks) {
            c.force();
        }
    }

    @Override
    public void sync(long offset, long length) {
        check(offset, 0);
        long pos = offset;
        long end = Math.min(size, offset + length);
        while (pos < end) {
            int ci = (int) (pos >>> CHUNK_SHIFT);
            int co = (int) (pos & (CHUNK - 1));
            int n = (int) Math.min(end - pos, chunks[ci].capacity() - co);
            chunks[ci].force(co, n);
            pos += n;
        }
    }

    @Override
    public void read(long offset, ByteBuffer dst) {
        check(offset, dst.remaining());
        long pos = offset;
        while (dst.hasRemaining()) {
            int ci = (int) (pos >>> CHUNK_SHIFT);
            int co = (int) (pos & (CHUNK - 1));
            int n = (int) Math.min(dst.remaining(), chunks[ci].capacity() - co);
            dst.put(dst.position(), chunks[ci], co, n);
            dst.position(dst.position() + n);
            pos += n;
        }
    }

    private void check(long offset, int length) {
        if (offset < 0 || offset + length > size) {
            throw new StoreException(StoreException.Kind.INVALID,
                    "store " + path + ": I/O at [" + offset + ", " + (offset + length) + ") outside its " + size + " bytes");
        }
    }

    @Override
    public String describe() {
        return "mapped file " + path + (mapSync ? " (MAP_SYNC)" : " (shared mapping + msync)");
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            log.warn("store {}: close: {}", path, e.toString());
        }
    }
}
