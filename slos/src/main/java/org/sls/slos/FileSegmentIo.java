package org.sls.slos;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link SegmentIo} over an image file or block device with positional reads and writes.
 * Writes use O_DIRECT when the file system accepts it (probed at open with an aligned read and
 * write of the first superblock block), otherwise the page cache; the choice is logged. Reads go
 * through a second, buffered channel so that warm data comes from the page cache. Durability by
 * fdatasync. Thread-safe.
 */
public final class FileSegmentIo implements SegmentIo {
    private static final Logger log = LoggerFactory.getLogger(FileSegmentIo.class);

    private final Path path;
    private final FileChannel writer;
    private final FileChannel reader;
    private final boolean direct;
    private final long size;

    private FileSegmentIo(Path path, FileChannel writer, FileChannel reader, boolean direct, long size) {
        this.path = path;
        this.writer = writer;
        this.reader = reader;
        this.direct = direct;
        this.size = size;
    }

    /** Opens {@code path} of {@code size} bytes, trying O_DIRECT first unless {@code tryDirect} is false. */
    public static FileSegmentIo open(Path path, long size, boolean tryDirect) {
        FileChannel reader;
        try {
            reader = FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new StoreException(StoreException.Kind.IO, "store " + path + ": cannot open: " + e, e);
        }
        if (tryDirect) {
            FileChannel ch = null;
            try {
                OpenOption directOption = directOption();
                ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE, directOption);
                // Some file systems accept the flag at open and fail each I/O: probe with a real one.
                ByteBuffer probe = ByteBuffer.allocateDirect(2 * Layout.BLOCK_SIZE).alignedSlice(Layout.BLOCK_SIZE);
                probe.limit(Layout.BLOCK_SIZE);
                // The last block before the data area is never used by the store: safe to rewrite.
                long at = Layout.DATA_OFFSET - Layout.BLOCK_SIZE;
                ch.read(probe, at);
                probe.flip();
                ch.write(probe, at);
                log.info("store {}: data written with O_DIRECT", path);
                return new FileSegmentIo(path, ch, reader, true, size);
            } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
                closeQuietly(ch);
                log.info("store {}: O_DIRECT not available here ({}); writing through the page cache", path, e.toString());
            }
        }
        try {
            FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
            return new FileSegmentIo(path, ch, reader, false, size);
        } catch (IOException e) {
            closeQuietly(reader);
            throw new StoreException(StoreException.Kind.IO, "store " + path + ": cannot open for writing: " + e, e);
        }
    }

    private static OpenOption directOption() {
        // com.sun.nio.file.ExtendedOpenOption.DIRECT lives in jdk.unsupported; look it up by name so the
        // code compiles with --release and still runs where the module is absent.
        try {
            Class<?> c = Class.forName("com.sun.nio.file.ExtendedOpenOption");
            for (Object o : c.getEnumConstants()) {
                if (((Enum<?>) o).name().equals("DIRECT")) {
                    return (OpenOption) o;
                }
            }
        } catch (ClassNotFoundException e) {
            // fall through
        }
        throw new UnsupportedOperationException("com.sun.nio.file.ExtendedOpenOption.DIRECT not available");
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // closing after a failed probe: nothing was written through it
            }
        }
    }

    /** True when writes bypass the page cache. */
    public boolean direct() {
        return direct;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public int alignment() {
        return direct ? Layout.BLOCK_SIZE : 1;
    }

    @Override
    public ByteBuffer allocate(int bytes) {
        // slice: capacity exactly bytes (alignedSlice alone keeps a spare block when the
        // allocation is already aligned, which a clear() would then expose).
        return ByteBuffer.allocateDirect(bytes + Layout.BLOCK_SIZE).alignedSlice(Layout.BLOCK_SIZE).slice(0, bytes);
    }

    @Override
    public void write(long offset, ByteBuffer src) {
        check(offset, src.remaining());
        try {
            long pos = offset;
            while (src.hasRemaining()) {
                pos += writer.write(src, pos);
            }
        } catch (IOException e) {
            throw new StoreException(StoreException.Kind.IO, "store " + path + ": write at offset " + offset + ": " + e, e);
        }
    }

    @Override
    public void sync() {
        try {
            writer.force(false);
        } catch (IOException e) {
            throw new StoreException(StoreException.Kind.IO, "store " + path + ": fdatasync: " + e, e);
        }
    }

    @Override
    public void read(long offset, ByteBuffer dst) {
        check(offset, dst.remaining());
        try {
            long pos = offset;
            while (dst.hasRemaining()) {
                int n = reader.read(dst, pos);
                if (n < 0) {
                    throw new StoreException(StoreException.Kind.IO, "store " + path + ": unexpected end of data at offset " + pos);
                }
                pos += n;
            }
        } catch (IOException e) {
            throw new StoreException(StoreException.Kind.IO, "store " + path + ": read at offset " + offset + ": " + e, e);
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
        return "file " + path + (direct ? " (O_DIRECT)" : " (page cache)");
    }

    @Override
    public void close() {
        closeQuietly(writer);
        closeQuietly(reader);
    }
}
