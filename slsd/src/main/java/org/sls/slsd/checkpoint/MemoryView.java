package org.sls.slsd.checkpoint;

import org.sls.slos.ObjectReader;
import org.sls.slsd.checkpoint.manifest.ProcessImage;
import org.sls.slsd.checkpoint.manifest.RegionImage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A process's memory as of a checkpoint, read back from the store: what the restore engine writes
 * into a husk, and what tests compare with a workload's own report. Pages absent from a region's
 * object are zeros (anonymous, shared, private copies of file pages) or the file's content (other
 * pages of private file mappings). Thread-safe if the reader is.
 */
public final class MemoryView {
    private final ObjectReader reader;
    private final ProcessImage process;

    public MemoryView(ObjectReader reader, ProcessImage process) {
        this.reader = reader;
        this.process = process;
    }

    /** Reads {@code len} bytes at {@code address}; throws when part of the range is not mapped. */
    public byte[] read(long address, int len) {
        byte[] out = new byte[len];
        ByteBuffer page = ByteBuffer.allocateDirect(4096);
        int done = 0;
        while (done < len) {
            long a = address + done;
            RegionImage r = process.regionAt(a);
            if (r == null) {
                throw new IllegalArgumentException("pid " + process.pid() + ": 0x" + Long.toHexString(a) + " is not mapped");
            }
            long pageAddr = a & ~4095L;
            page.clear();
            boolean data = r.objectId() != 0 && reader.readPage(r.objectId(), r.pageIndex(pageAddr), page);
            if (!data) {
                fill(r, pageAddr, page);
            }
            int off = (int) (a - pageAddr);
            int n = Math.min(len - done, 4096 - off);
            page.position(off);
            page.get(out, done, n);
            done += n;
        }
        return out;
    }

    private static void fill(RegionImage r, long pageAddr, ByteBuffer page) {
        page.clear();
        boolean fromFile = r.kind() == RegionImage.Kind.FILE_SHARED
                || (r.kind() == RegionImage.Kind.FILE_PRIVATE && !r.privateCopy(pageAddr));
        if (fromFile) {
            try (FileChannel ch = FileChannel.open(Path.of(r.path()), StandardOpenOption.READ)) {
                long pos = r.offset() + (pageAddr - r.start());
                while (page.hasRemaining()) {
                    if (ch.read(page, pos + page.position()) <= 0) {
                        break;
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(r.path(), e);
            }
        }
        while (page.hasRemaining()) {
            page.put((byte) 0);
        }
    }
}
