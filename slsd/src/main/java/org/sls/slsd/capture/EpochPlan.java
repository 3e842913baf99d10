package org.sls.slsd.capture;

import org.sls.slos.EpochWriter;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * What one checkpoint will write to the store once the processes run again: runs of staged pages
 * (object, first page, count, where in {@link Staging}), holes, deleted objects. Not thread-safe.
 */
public final class EpochPlan {
    private long[] runs = new long[5 * 64];
    private int nRuns;
    private long[] holes = new long[2 * 64];
    private int nHoles;
    private long[] deletes = new long[8];
    private int nDeletes;
    private long pages;

    void run(long objectId, long firstPage, long count, int chunk, long offset) {
        if (nRuns * 5 + 5 > runs.length) {
            runs = Arrays.copyOf(runs, runs.length * 2);
        }
        int i = nRuns * 5;
        runs[i] = objectId;
        runs[i + 1] = firstPage;
        runs[i + 2] = count;
        runs[i + 3] = chunk;
        runs[i + 4] = offset;
        nRuns++;
        pages += count;
    }

    void hole(long objectId, long page) {
        if (nHoles * 2 + 2 > holes.length) {
            holes = Arrays.copyOf(holes, holes.length * 2);
        }
        holes[nHoles * 2] = objectId;
        holes[nHoles * 2 + 1] = page;
        nHoles++;
    }

    void delete(long objectId) {
        if (nDeletes == deletes.length) {
            deletes = Arrays.copyOf(deletes, nDeletes * 2);
        }
        deletes[nDeletes++] = objectId;
    }

    /** Pages of data staged. */
    public long pages() { return pages; }
    public long holes() { return nHoles; }
    public long bytes() { return pages << 12; }

    /** Writes everything (deletes first, then holes and pages) into the epoch. */
    public void writeTo(EpochWriter w, Staging staging) {
        writeTo(w, staging, n -> { });
    }

    /** As {@link #writeTo(EpochWriter, Staging)}, telling {@code progress} the page bytes written as it goes. */
    public void writeTo(EpochWriter w, Staging staging, java.util.function.LongConsumer progress) {
        for (int i = 0; i < nDeletes; i++) {
            w.deleteObject(deletes[i]);
        }
        for (int i = 0; i < nHoles; i++) {
            w.writeHole(holes[2 * i], holes[2 * i + 1]);
        }
        for (int r = 0; r < nRuns; r++) {
            int i = r * 5;
            long obj = runs[i];
            long first = runs[i + 1];
            long count = runs[i + 2];
            int chunk = (int) runs[i + 3];
            long off = runs[i + 4];
            ByteBuffer page = staging.page(chunk, off);
            for (long p = 0; p < count; p++) {
                page.limit((int) (off + (p + 1) * 4096)).position((int) (off + p * 4096));
                w.writePage(obj, first + p, page);
            }
            progress.accept(count << 12);
        }
    }
}
