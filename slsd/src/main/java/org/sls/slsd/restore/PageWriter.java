package org.sls.slsd.restore;

import org.sls.slos.ObjectReader;
import org.sls.slsd.linux.IoVecs;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.NativeMemory;
import org.sls.slsd.linux.UffdFill;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Writes the pages of restored memory: runs of consecutive pages (process, address, slos object,
 * first page) are grouped into batches of up to {@value #BATCH_PAGES} pages of one process; one
 * worker per CPU takes batches in turn, fills its off-heap buffer from slos ({@code readPages},
 * coalesced I/O) and writes it into the process: fresh anonymous memory through the process's
 * userfaultfd ({@code UFFDIO_COPY}: no zeroing, no fault per page) when {@link #fillWith} gave one,
 * everything else with one {@code process_vm_writev}, so that the target-side work (the larger cost)
 * runs on every CPU. process_vm_writev needs no ptrace, so the
 * workers need not be the tracer thread. Every region is mapped writable before this runs. Shared memory content is written
 * by {@link org.sls.slsd.resources.SharedFiles}. Not thread-safe: one {@link #writeAll} per instance; timings add up the workers' times.
 */
final class PageWriter {
    static final int BATCH_PAGES = 4096;
    /** Object id of a run of zero pages (private copies of file pages that were all zeros). */
    static final long ZEROS = 0;
    private static final byte[] ZERO_PAGE = new byte[4096];
    /** Page faults in the target dominate: one worker per CPU, each reading and writing its own batches. */
    private static final int MAX_WORKERS = 4;

    /** Pages to write; {@code fillable}: in fresh anonymous memory, which a userfaultfd may fill. */
    private record Run(int pid, long address, long objectId, long firstPage, int pages, boolean fillable) {}

    /** One buffer's worth: slices of runs of one process. */
    private record Batch(int pid, List<Run> slices, int pages) {}

    private final ObjectReader reader;
    private final Timings timings;
    private final List<Run> runs = new ArrayList<>();

    PageWriter(ObjectReader reader, Timings timings) {
        this.reader = reader;
        this.timings = timings;
    }

    private final Map<Integer, UffdFill> fills = new HashMap<>();
    private volatile org.sls.slsd.checkpoint.LongOperations.Operation progress =
            org.sls.slsd.checkpoint.LongOperations.untracked();

    void add(int pid, long address, long objectId, long firstPage, int pages, boolean fillable) {
        runs.add(new Run(pid, address, objectId, firstPage, pages, fillable));
    }

    /** From now on the fillable runs of {@code pid} go through its userfaultfd (UFFDIO_COPY). */
    void fillWith(int pid, UffdFill fill) {
        fills.put(pid, fill);
    }

    void writeAll(RestoreRun run) {
        List<Batch> batches = batches();
        if (batches.isEmpty()) {
            return;
        }
        long pages = runs.stream().mapToLong(Run::pages).sum();
        run.at("write " + pages + " pages");
        progress = run.progress;
        progress.stage("writing memory", pages << 12);
        int workers = Math.max(1, Math.min(Math.min(MAX_WORKERS, Runtime.getRuntime().availableProcessors()),
                batches.size()));
        AtomicInteger next = new AtomicInteger();
        AtomicReference<RuntimeException> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int w = 1; w < workers; w++) {
            Thread t = new Thread(() -> work(batches, next, failure), "sls-restore-pages-" + w);
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }
        work(batches, next, failure);
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while writing pages");
            }
        }
        if (failure.get() != null) {
            throw failure.get();
        }
    }

    /** One worker: takes the next batch, reads it from slos into its buffer, writes it into its process. */
    private void work(List<Batch> batches, AtomicInteger next, AtomicReference<RuntimeException> failure) {
        try (NativeMemory buf = NativeMemory.map((long) BATCH_PAGES << 12, true, false);
             IoVecs local = new IoVecs(IoVecs.IOV_MAX); IoVecs remote = new IoVecs(IoVecs.IOV_MAX)) {
            for (int i = next.getAndIncrement(); i < batches.size() && failure.get() == null; i = next.getAndIncrement()) {
                Batch b = batches.get(i);
                long t0 = System.nanoTime();
                long off = 0;
                for (Run s : b.slices()) {
                    ByteBuffer dst = buf.buffer(off, s.pages() << 12);
                    if (s.objectId() == ZEROS) {
                        while (dst.hasRemaining()) {
                            dst.put(ZERO_PAGE);
                        }
                    } else {
                        reader.readPages(s.objectId(), s.firstPage(), s.pages(), dst);
                    }
                    off += (long) s.pages() << 12;
                }
                timings.readNanos.addAndGet(System.nanoTime() - t0);
                write(b, buf, local, remote);
            }
        } catch (RuntimeException e) {
            failure.compareAndSet(null, e);
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
                cur.add(new Run(r.pid(), r.address() + (done << 12), r.objectId(), r.firstPage() + done, n, r.fillable()));
                curPages += n;
                done += n;
            }
        }
        if (!cur.isEmpty()) {
            out.add(new Batch(curPid, cur, curPages));
        }
        return out;
    }

    private void write(Batch b, NativeMemory buf, IoVecs local, IoVecs remote) {
        long t0 = System.nanoTime();
        local.clear();
        remote.clear();
        UffdFill fill = fills.get(b.pid());
        long off = 0;
        long viaVm = 0;
        for (Run s : b.slices()) {
            long len = (long) s.pages() << 12;
            if (fill != null && s.fillable()) {
                fill.copy(s.address(), buf.address() + off, len);
            } else {
                local.add(buf.address() + off, len);
                remote.add(s.address(), len);
                viaVm += len;
            }
            off += len;
        }
        if (viaVm > 0) {
            long got = Linux.processVmWritev(b.pid(), local, remote);
            if (got != viaVm) {
                throw new IllegalStateException("process_vm_writev wrote " + got + " of " + viaVm + " bytes into pid "
                        + b.pid() + " from " + Hexes.hex(remote.base(0)));
            }
        }
        timings.writeNanos.addAndGet(System.nanoTime() - t0);
        timings.pagesWritten.addAndGet(b.pages());
        progress.add((long) b.pages() << 12);
    }
}
