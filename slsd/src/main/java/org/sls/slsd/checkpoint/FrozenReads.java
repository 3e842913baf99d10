package org.sls.slsd.checkpoint;

import org.sls.slsd.capture.CaptureTimings;
import org.sls.slsd.capture.CaptureTimings.Phase;
import org.sls.slsd.capture.FdCapture;
import org.sls.slsd.capture.FreezePriority;
import org.sls.slsd.capture.MemoryCapture;
import org.sls.slsd.checkpoint.CheckpointException.Kind;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.checkpoint.manifest.RegionImage;
import org.sls.slsd.linux.Vma;
import org.sls.slsd.resources.CaptureContext;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The reads of a frozen partition that run on other threads while the freezing thread checks the
 * processes, reads their registers and injects syscalls (which mostly waits for the tracees to be
 * scheduled): the fds, from the start of the checks, and the private memory (scan and copy), once
 * the checks are done; a process's threads run their injected calls only after its scan
 * ({@link #awaitScanned}). The fd reader reads through the socket copies of the capture's context and
 * the memory reader writes into the staging memory, so both are always waited for before the
 * processes thaw, the copies are closed or the staging area is given back: {@link #join} on the
 * way to a thaw, {@link #settle} after a failure. Both run at the freeze's realtime priority
 * ({@link FreezePriority}).
 *
 * <p>One per capture. Not thread-safe: the freezing thread's.
 */
final class FrozenReads {
    /** The readers' threads, shared by all partitions. */
    static final ExecutorService THREADS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "sls-fds");
        t.setDaemon(true);
        return t;
    });

    private final String partition;
    private final CaptureContext ctx;
    private Future<CaptureTimings> fds;
    private Future<CaptureTimings> memory;
    /** Per process of the memory reader: counted down once its pages are scanned (see {@link #awaitScanned}). */
    private final Map<Integer, java.util.concurrent.CountDownLatch> scanned = new java.util.concurrent.ConcurrentHashMap<>();

    /** For the capture of {@code partition}, whose fds are read through {@code ctx}. */
    FrozenReads(String partition, CaptureContext ctx) {
        this.partition = partition;
        this.ctx = ctx;
    }

    /** Starts reading the fds of {@code pids} into {@code out} (which it locks to write). */
    void startFds(List<Integer> pids, Map<Integer, List<FdImage>> out) {
        fds = THREADS.submit(FreezePriority.raised(() -> {
            CaptureTimings ft = new CaptureTimings();
            ft.enter(Phase.FDS);
            for (int pid : pids) {
                List<FdImage> f = FdCapture.capture(pid, ctx);
                synchronized (out) {
                    out.put(pid, f);
                }
            }
            ft.stop();
            return ft;
        }));
    }

    /**
     * Starts the scan and copy of the private memory of {@code pids} (their VMAs in {@code vmas})
     * by {@code mc} into {@code out} (which it locks to write).
     */
    void startMemory(MemoryCapture mc, List<Integer> pids, Map<Integer, List<Vma>> vmas,
                     Map<Integer, List<RegionImage>> out) {
        for (int pid : pids) {
            scanned.put(pid, new java.util.concurrent.CountDownLatch(1));
        }
        mc.onScanned(pid -> scanned.get(pid).countDown());
        memory = THREADS.submit(FreezePriority.raised(() -> {
            try {
                CaptureTimings mt = new CaptureTimings();
                mc.timings(mt);
                for (int pid : pids) {
                    List<RegionImage> r = mc.captureProcess(pid, vmas.get(pid));
                    synchronized (out) {
                        out.put(pid, r);
                    }
                }
                mt.stop();
                return mt;
            } finally {
                scanned.values().forEach(java.util.concurrent.CountDownLatch::countDown); // a failure too: join reports it
            }
        }));
    }

    /**
     * Waits until the memory reader has scanned the pages of {@code pid} (or stopped), before the
     * freezing thread lets that process's threads run injected calls. The scan write-protects the
     * pages written since the last checkpoint, one page table entry at a time, and on this kernel
     * (a virtual machine with paravirtual page tables) each such change costs several times more
     * while a thread of the same process runs on another CPU: a 1% delta of 1 GiB, scanned beside
     * its injected calls at realtime priority, took 26 ms to scan against 9 ms. The registers and
     * /proc reads before the calls overlap the scan; the copy, which only reads, overlaps the calls.
     * Returns at once when the memory is not read here.
     */
    void awaitScanned(int pid) {
        java.util.concurrent.CountDownLatch l = scanned.get(pid);
        if (l == null) {
            return;
        }
        try {
            l.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CheckpointException(Kind.INTERNAL, "partition " + partition + ": interrupted while waiting for the "
                    + "memory scan of pid " + pid);
        }
    }

    /** Whether the memory is read here (else the freezing thread reads it). */
    boolean readsMemory() {
        return memory != null;
    }

    /**
     * Waits for both reads, even after a failure of the freezing thread ({@code failure}, or null),
     * adds their times to {@code t} (and gives {@code t} back to {@code mc}), then closes the
     * socket copies. Returns the first failure: {@code failure}, else the fd reader's, else the
     * memory reader's; null when none.
     */
    RuntimeException join(CaptureTimings t, MemoryCapture mc, RuntimeException failure) {
        if (fds != null) {
            t.enter(Phase.FDS_WAIT);
            try {
                t.add(Phase.FDS, await(fds, "its fds").micros(Phase.FDS) * 1000);
            } catch (RuntimeException e) {
                failure = failure == null ? e : failure;
            }
        }
        if (memory != null) {
            t.enter(Phase.MEMORY_WAIT);
            try {
                CaptureTimings mt = await(memory, "its memory");
                for (Phase ph : List.of(Phase.SCAN, Phase.COPY, Phase.TRACK)) {
                    t.add(ph, mt.micros(ph) * 1000);
                }
            } catch (RuntimeException e) {
                failure = failure == null ? e : failure;
            }
            mc.timings(t);
        }
        closeCopies();
        return failure;
    }

    /**
     * After a failure before {@link #join} (a check that refused while the fd reader reads the
     * frozen processes through the socket copies): waits for the fd reader, whose failure, if
     * any, is not the one reported, and closes the copies.
     */
    void settle() {
        if (fds != null && !fds.isDone()) {
            try {
                fds.get();
            } catch (InterruptedException x) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException x) {
                // the check's failure is the one reported
            }
        }
        closeCopies();
    }

    /** Closes the socket copies, or leaves them to the reader still running when interrupted (slsd stops). */
    private void closeCopies() {
        if ((fds == null || fds.isDone()) && (memory == null || memory.isDone())) {
            ctx.closeSocketCopies();
        } else {
            ctx.abandonSocketCopies();
        }
    }

    /** The reader's result, or its failure; {@code what} it reads names it when this thread is interrupted. */
    private <T> T await(Future<T> f, String what) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CheckpointException(Kind.INTERNAL, "partition " + partition + ": interrupted while reading " + what);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new CheckpointException(Kind.INTERNAL, "partition " + partition + ": " + e.getCause(), e.getCause());
        }
    }
}
