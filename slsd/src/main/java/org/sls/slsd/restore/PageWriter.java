package org.sls.slsd.restore;

import org.sls.slos.ObjectReader;
import org.sls.slsd.linux.IoVecs;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.NativeMemory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Writes the pages of restored memory: runs of consecutive pages (process, address, slos object,
 * first page) are grouped into batches of up to {@value #BATCH_PAGES} pages of one process; a reader
 * thread fills off-heap buffers from slos ({@code readPages}, coalesced I/O) while the calling thread
 * writes the previous buffer into the process with one {@code process_vm_writev}, so reading and
 * writing overlap. Every region is mapped writable before this runs. Shared memory content goes into
 * its memfd through /proc/PID/fd. Not thread-safe: one {@link #writeAll} per instance.
 */
final class PageWriter {
    static final int BATCH_PAGES = 4096;
    private static final int BUFFERS = 3;

    private record Run(int pid, long address, long objectId, long firstPage, int pages) {}

    private record SharedContent(int pid, int fd, long objectId, long size) {}

    /** One buffer's worth: slices of runs of one process. */
    private record Batch(int pid, List<Run> slices, int pages) {}

    private record Filled(int batch, int buffer, RuntimeException error) {}

    private final ObjectReader reader;
    private final Timings timings;
    private final List<Run> runs = new ArrayList<>();
    private final List<SharedContent> sharedContent = new ArrayList<>();

    PageWriter(ObjectReader reader, Timings timings) {
        this.reader = reader;
        this.timings = timings;
    }

    void add(int pid, long address, long objectId, long firstPage, int pages) {
        runs.add(new Run(pid, address, objectId, firstPage, pages));
    }

    void shared(int pid, int fd, long objectId, long size) {
        sharedContent.add(new SharedContent(pid, fd, objectId, size));
    }

    void writeAll(RestoreRun run) {
        for (SharedContent s : sharedContent) {
            run.at("write shared memory content into memfd " + s.fd() + " of pid " + s.pid());
            writeShared(s);
        }
        List<Batch> batches = batches();
        if (batches.isEmpty()) {
            return;
        }
        int nbuf = Math.min(BUFFERS, batches.size());
        NativeMemory[] buffers = new NativeMemory[nbuf];
        BlockingQueue<Integer> free = new ArrayBlockingQueue<>(nbuf);
        BlockingQueue<Filled> filled = new ArrayBlockingQueue<>(nbuf + 1);
        Thread readerThread = null;
        try {
            for (int i = 0; i < nbuf; i++) {
                buffers[i] = NativeMemory.map((long) BATCH_PAGES << 12, true, false);
                free.add(i);
            }
            readerThread = new Thread(() -> readLoop(batches, buffers, free, filled), "sls-restore-reader");
            readerThread.setDaemon(true);
            readerThread.start();
            try (IoVecs local = new IoVecs(IoVecs.IOV_MAX); IoVecs remote = new IoVecs(IoVecs.IOV_MAX)) {
                for (int i = 0; i < batches.size(); i++) {
                    Filled f = filled.take();
                    if (f.error() != null) {
                        throw f.error();
                    }
                    Batch b = batches.get(f.batch());
                    write(run, b, buffers[f.buffer()], local, remote);
                    free.add(f.buffer());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while writing pages");
        } finally {
            if (readerThread != null) {
                readerThread.interrupt();
                try {
                    readerThread.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            for (NativeMemory m : buffers) {
                if (m != null) {
                    m.close();
                }
            }
        }
    }

    private List<Batch> batches() {
        List<Batch> out = new ArrayList<>();
        List<Run> cur = new ArrayList<>();
        int curPid = -1;
        int curPages = 0;
        for (Run r : runs) {
            long done = 0;
            while (done < r.pages()) {
                if (curPid != r.pid() || curPages == BATCH_PAGES || cur.size() == IoVecs.IOV_MAX) {
                    if (!cur.isEmpty()) {
                        out.add(new Batch(curPid, cur, curPages));
                    }
                    cur = new ArrayList<>();
                    curPid = r.pid();
                    curPages = 0;
                }
                int n = (int) Math.min(r.pages() - done, BATCH_PAGES - curPages);
                cur.add(new Run(r.pid(), r.address() + (done << 12), r.objectId(), r.firstPage() + done, n));
                curPages += n;
                done += n;
            }
        }
        if (!cur.isEmpty()) {
            out.add(new Batch(curPid, cur, curPages));
        }
        return out;
    }

    private void readLoop(List<Batch> batches, NativeMemory[] buffers, BlockingQueue<Integer> free,
                          BlockingQueue<Filled> filled) {
        int i = 0;
        try {
            for (; i < batches.size(); i++) {
                int buf = free.take();
                long t0 = System.nanoTime();
                long off = 0;
                for (Run s : batches.get(i).slices()) {
                    ByteBuffer dst = buffers[buf].buffer(off, s.pages() << 12);
                    reader.readPages(s.objectId(), s.firstPage(), s.pages(), dst);
                    off += (long) s.pages() << 12;
                }
                timings.readNanos.addAndGet(System.nanoTime() - t0);
                filled.put(new Filled(i, buf, null));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            filled.offer(new Filled(i, -1, e));
        }
    }

    private void write(RestoreRun run, Batch b, NativeMemory buf, IoVecs local, IoVecs remote) {
        long t0 = System.nanoTime();
        local.clear();
        remote.clear();
        long off = 0;
        for (Run s : b.slices()) {
            long len = (long) s.pages() << 12;
            local.add(buf.address() + off, len);
            remote.add(s.address(), len);
            off += len;
        }
        Run first = b.slices().get(0);
        run.at("write " + b.pages() + " pages of pid " + b.pid() + " from " + Hexes.hex(first.address()));
        long got = Linux.processVmWritev(b.pid(), local, remote);
        if (got != off) {
            throw new IllegalStateException("process_vm_writev wrote " + got + " of " + off + " bytes into pid "
                    + b.pid() + " from " + Hexes.hex(first.address()));
        }
        timings.writeNanos.addAndGet(System.nanoTime() - t0);
        timings.pagesWritten.addAndGet(b.pages());
    }

    private void writeShared(SharedContent s) {
        long t0 = System.nanoTime();
        long[] pages = reader.pages(s.objectId());
        ByteBuffer page = ByteBuffer.allocateDirect(4096);
        try (FileChannel ch = FileChannel.open(Path.of("/proc/" + s.pid() + "/fd/" + s.fd()), StandardOpenOption.WRITE)) {
            for (long p : pages) {
                if ((p << 12) >= s.size()) {
                    continue;
                }
                page.clear();
                reader.readPage(s.objectId(), p, page);
                page.flip();
                while (page.hasRemaining()) {
                    ch.write(page, (p << 12) + page.position());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("shared memory memfd " + s.fd() + " of pid " + s.pid(), e);
        }
        timings.writeNanos.addAndGet(System.nanoTime() - t0);
        timings.pagesWritten.addAndGet(pages.length);
    }
}
