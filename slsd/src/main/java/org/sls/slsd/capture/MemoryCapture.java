package org.sls.slsd.capture;

import org.sls.slsd.checkpoint.CheckpointException;
import org.sls.slsd.checkpoint.manifest.RegionImage;
import org.sls.slsd.checkpoint.manifest.RegionImage.Kind;
import org.sls.slsd.checkpoint.manifest.SharedMemoryImage;
import org.sls.slsd.linux.IoVecs;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.PageMap;
import org.sls.slsd.linux.PageRanges;
import org.sls.slsd.linux.Vma;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * Memory of frozen processes (DESIGN sections 3 step 4 and 5): decides per VMA which pages to save
 * (present private pages that differ from any file; with a tracker only those written since the
 * last checkpoint; holes for pages gone since), copies them with process_vm_readv into
 * {@link Staging}, and records the plan of store writes. Shared memory is saved once per identity.
 * One instance per checkpoint; not thread-safe, but for {@link #noteFile}, which another thread
 * (the fd reader) may call while one thread checks and {@link #stamp}s the processes and another
 * captures their memory.
 */
public final class MemoryCapture implements AutoCloseable {
    private static final long NOT_FILE_NOT_ZERO = PageMap.PAGE_IS_FILE | PageMap.PAGE_IS_PFNZERO;
    private final Staging staging;
    private final EpochPlan plan;
    private final DirtyTracker tracker;
    private final boolean delta;
    private final boolean pagemapScan;
    private MemoryLineage prev;
    private final MemoryLineage next;
    private final LongSupplier newObjectId;
    /**
     * Helpers of the copy, one fewer than the cores: process_vm_readv runs at one core's memcpy
     * speed, and the capturing thread copies too (see {@link SharedCopy}).
     */
    private static final int HELPERS = Math.max(1, Math.min(3, Runtime.getRuntime().availableProcessors() - 1));
    private static final java.util.concurrent.ExecutorService COPIERS = java.util.concurrent.Executors.newFixedThreadPool(
            HELPERS, r -> {
                Thread t = new Thread(r, "sls-copy");
                t.setDaemon(true);
                return t;
            });
    /** Below this many bytes a copy is not shared: handing it out costs more than it saves. */
    private static final long SHARE_THRESHOLD = 1L << 20;
    /**
     * A batch (one process_vm_readv) ends at this many iovecs of the process or bytes, so that a
     * shared copy has batches enough to spread, and the last one taken ends soon after the others.
     */
    private static final int BATCH_IOVECS = 256;
    private static final long BATCH_BYTES = 2L << 20;
    /** Told each process whose pages {@link #captureProcess} has scanned, before it copies them. */
    private java.util.function.IntConsumer onScanned = pid -> { };
    private IoVecs local = IoVecs.pooled();
    private IoVecs remote = IoVecs.pooled();
    private final java.util.ArrayDeque<IoVecs> spare = new java.util.ArrayDeque<>();
    private final List<IoVecs[]> pending = new ArrayList<>();
    private long pendingBytes;
    private final Map<String, List<long[]>> sharedMaps = new LinkedHashMap<>(); // identity -> {pid, start, end, offset}
    private final Map<String, String> sharedPaths = new LinkedHashMap<>();
    /** Per identity, a path slsd reads its content through (/proc/PID/map_files/..., /proc/PID/fd/N). */
    private final Map<String, String> sources = new LinkedHashMap<>();
    /**
     * Guards the shared objects' tables ({@code next.shared}, {@link #sharedMaps}, {@link #sharedPaths},
     * {@link #sources}): the fd reader notes files while private memory is captured on another thread.
     */
    private final Object sharedLock = new Object();
    private int copyPid;
    private int copyChunk = -1;
    private CaptureTimings timings = new CaptureTimings();
    private Precopy precopy;

    public MemoryCapture(Staging staging, EpochPlan plan, DirtyTracker tracker, boolean delta, boolean pagemapScan,
                         MemoryLineage prev, long epoch, LongSupplier newObjectId) {
        this.staging = staging;
        this.plan = plan;
        this.tracker = tracker;
        this.delta = delta;
        this.pagemapScan = pagemapScan;
        this.prev = prev;
        this.next = new MemoryLineage(epoch);
        this.newObjectId = newObjectId;
    }

    /** Pages copied before the freeze, used where the freeze finds them unchanged. */
    public void precopy(Precopy p) {
        this.precopy = p;
    }

    /** Where to add the time of scanning, copying and tracking. */
    public void timings(CaptureTimings t) {
        this.timings = t;
    }

    /**
     * Notes the address-space stamp of a process (its start time included); when it differs from
     * the previous lineage's (the process exec'd, or another process holds the pid: a restored one,
     * a reused pid), its old regions are forgotten, and the tracker drops what it holds for another
     * process under this pid.
     */
    public void stamp(int pid, String stamp) {
        synchronized (sharedLock) { // the fd reader may note files meanwhile (noteFile reads prev)
            String old = prev.stamp(pid);
            if (old != null && !old.equals(stamp)) {
                prev = prev.without(pid);
            }
            next.stamp(pid, stamp);
        }
        tracker.identify(pid, stamp);
    }

    /** The lineage after this checkpoint (valid once it commits). */
    public MemoryLineage lineage() { return next; }

    /** What a VMA is; refuses mappings this version cannot restore. */
    public static Kind kindOf(int pid, Vma v) {
        String p = v.path();
        switch (p) {
            case "[vdso]": return Kind.VDSO;
            case "[vvar]": return Kind.VVAR;
            case "[vvar_vclock]": return Kind.VVAR_VCLOCK;
            case "[vsyscall]": return Kind.VSYSCALL;
            case "[heap]": return Kind.HEAP;
            case "[stack]": return Kind.STACK;
            default: break;
        }
        if (v.has("io") || v.has("pf")) {
            throw CheckpointException.unsupported(pid, "mapping " + v + " (device memory)");
        }
        if (p.startsWith("[anon_shmem:")) {
            return Kind.SHARED;
        }
        if (!p.isEmpty() && !p.startsWith("/") && !p.startsWith("[")) {
            // a mapping of an anonymous inode: an io_uring's rings, a perf buffer, a BPF map...
            String what = org.sls.slsd.resources.Refusals.what(p);
            throw CheckpointException.unsupported(pid, "mapping " + v + (what == null ? "" : " (" + what + ")"));
        }
        if (p.startsWith("[") && !p.startsWith("[anon:")) {
            throw CheckpointException.unsupported(pid, "mapping " + v + " (" + p + ")");
        }
        if (v.shared()) {
            // shared anonymous memory, memfd, POSIX shm and deleted files: their content is saved
            if (!v.fileBacked() || p.startsWith("/dev/zero") || p.startsWith("/memfd:") || p.startsWith("/dev/shm/")
                    || p.startsWith("/SYSV")
                    || p.endsWith(" (deleted)")) {
                return Kind.SHARED;
            }
            return Kind.FILE_SHARED;
        }
        if (v.fileBacked()) {
            if (!p.startsWith("/")) {
                throw CheckpointException.unsupported(pid, "mapping " + v + " (private mapping of an unnamed file)");
            }
            return Kind.FILE_PRIVATE;
        }
        return Kind.ANON;
    }

    /**
     * Who is told, from {@link #captureProcess}'s thread, that the pages of a process are scanned
     * (written pages protected again, new VMAs registered): from then on only reads of its memory
     * follow. See {@code FrozenReads#awaitScanned}.
     */
    public void onScanned(java.util.function.IntConsumer listener) {
        this.onScanned = listener;
    }

    /** Captures the private memory of one process and notes its shared mappings. */
    public List<RegionImage> captureProcess(int pid, List<Vma> vmas) {
        List<RegionImage> out = new ArrayList<>();
        copyPid = pid;
        try (PageMap pm = pagemapScan ? PageMap.open(pid) : null) {
            List<Kind> kinds = new ArrayList<>(vmas.size());
            // per private VMA, the region of the previous lineage it continues (null: none), looked up once
            List<MemoryLineage.Region> olds = new ArrayList<>(vmas.size());
            for (Vma v : vmas) {
                Kind kind = kindOf(pid, v);
                kinds.add(kind);
                olds.add(privateKind(kind) ? continued(prev, pid, v, kind) : null);
            }
            Map<Long, PageRanges> inRuns = pm == null ? Map.of() : presentInRuns(vmas, kinds, olds, pm);
            for (int i = 0; i < vmas.size(); i++) {
                Vma v = vmas.get(i);
                Kind kind = kinds.get(i);
                List<String> flags = new ArrayList<>(v.vmFlags());
                if (privateKind(kind)) {
                    if (kind == Kind.FILE_PRIVATE && v.path().endsWith(" (deleted)")) {
                        // the pages it did not copy come from the file, which only the checkpoint keeps
                        noteFile(v.identity(), v.path(), mapFile(pid, v));
                    }
                    out.add(capturePrivate(pid, v, kind, olds.get(i), flags, pm, inRuns.get(v.start())));
                } else if (kind == Kind.SHARED) {
                    String id = v.fileBacked() ? v.identity() : "anon:" + pid + ":" + Long.toHexString(v.start());
                    long obj;
                    synchronized (sharedLock) {
                        obj = sharedObject(id, v.path(), mapFile(pid, v));
                        sharedMaps.computeIfAbsent(id, k -> new ArrayList<>()).add(new long[] {pid, v.start(), v.end(), v.offset()});
                    }
                    out.add(region(v, kind, flags, obj, v.start() - v.offset(), 0));
                } else { // [vdso], [vvar], [vsyscall], shared file mappings: no content saved
                    out.add(region(v, kind, flags, 0, v.start(), 0));
                }
            }
            onScanned.accept(pid);
            drain();
        }
        return out;
    }

    /**
     * Whether a VMA of this kind is private memory, whose pages {@link #capturePrivate} saves: the
     * one list of them, for {@link #captureProcess} and {@link #presentInRuns}.
     */
    private static boolean privateKind(Kind kind) {
        return switch (kind) {
            case VDSO, VVAR, VVAR_VCLOCK, VSYSCALL, FILE_SHARED, SHARED -> false;
            default -> true;
        };
    }

    /**
     * The present pages of the private VMAs whose pages {@link #capturePrivate} will not ask the
     * tracker for (read-only file mappings, VMAs new since the last checkpoint, full checkpoints),
     * by VMA start: one PAGEMAP_SCAN per run of such VMAs that touch, rather than one per VMA. A
     * library's four read-only mappings are such a run; in redis that is some 60 system calls of
     * the frozen window fewer, each a few microseconds on this kernel.
     */
    private Map<Long, PageRanges> presentInRuns(List<Vma> vmas, List<Kind> kinds, List<MemoryLineage.Region> olds,
                                                PageMap pm) {
        timings.enter(CaptureTimings.Phase.SCAN);
        Map<Long, PageRanges> out = new HashMap<>();
        int i = 0;
        while (i < vmas.size()) {
            if (!scannedWhole(kinds.get(i), olds.get(i))) {
                i++;
                continue;
            }
            int j = i;
            while (j + 1 < vmas.size() && vmas.get(j + 1).start() == vmas.get(j).end()
                    && scannedWhole(kinds.get(j + 1), olds.get(j + 1))) {
                j++;
            }
            if (j > i) { // a lone VMA is scanned where it is captured, as before
                PageRanges run = new PageRanges();
                pm.scanOrThrow(vmas.get(i).start(), vmas.get(j).end(), 0, NOT_FILE_NOT_ZERO, NOT_FILE_NOT_ZERO,
                        PageMap.PAGE_IS_PRESENT | PageMap.PAGE_IS_SWAPPED, run);
                for (int k = i; k <= j; k++) {
                    out.put(vmas.get(k).start(), run.clip(vmas.get(k).start(), vmas.get(k).end()));
                }
            }
            i = j + 1;
        }
        return out;
    }

    /**
     * Whether {@link #capturePrivate} will scan all of the present pages of a VMA of this kind,
     * continuing {@code old} (or null), rather than ask the tracker.
     */
    private boolean scannedWhole(Kind kind, MemoryLineage.Region old) {
        return privateKind(kind) && !(old != null && delta && old.tracked());
    }

    private RegionImage region(Vma v, Kind kind, List<String> flags, long obj, long base, long saved) {
        return region(v, kind, flags, obj, base, saved, List.of());
    }

    private RegionImage region(Vma v, Kind kind, List<String> flags, long obj, long base, long saved,
                               List<String> privatePages) {
        return new RegionImage(v.start(), v.end(), v.perms(), kind, v.offset(), v.path(),
                v.fileBacked() ? v.identity() : "", flags, obj, base, saved, privatePages);
    }

    private static List<String> rangeList(PageRanges r) {
        List<String> out = new ArrayList<>(r.size());
        for (int i = 0; i < r.size(); i++) {
            out.add(RegionImage.range(r.start(i), r.end(i)));
        }
        return out;
    }

    private static String key(Vma v, Kind kind) {
        return kind + ":" + (v.fileBacked() ? v.identity() + "@" + v.offset() : "");
    }

    /**
     * The region of {@code lineage} this VMA continues: one at the same range, of the same kind
     * and file; null for none (its pages are then all saved anew).
     */
    static MemoryLineage.Region continued(MemoryLineage lineage, int pid, Vma v, Kind kind) {
        MemoryLineage.Region old = lineage.region(pid, v.start());
        return old != null && old.end() == v.end() && old.key().equals(key(v, kind)) ? old : null;
    }

    /**
     * The pages of a private VMA that continues {@code old} (null: none). {@code scanned}: its present
     * pages when {@link #presentInRuns} has read them already, else null.
     */
    private RegionImage capturePrivate(int pid, Vma v, Kind kind, MemoryLineage.Region old, List<String> flags,
                                       PageMap pm, PageRanges scanned) {
        String key = key(v, kind);
        PageRanges present = null;
        PageRanges toCopy = null;
        PageRanges early = null;
        Precopy.Region pre = null;
        boolean tracked = false;
        timings.enter(CaptureTimings.Phase.SCAN);
        if (old != null && delta && old.tracked()) {
            pre = precopy == null ? null : precopy.take(pid, v.start(), v.end());
            DirtyTracker.Dirty d = tracker.dirty(pid, v, old.present().pages());
            if (d != null) {
                tracked = true;
                // written since the previous checkpoint: before the early scan, or since
                PageRanges written = pre == null ? d.written() : d.written().union(pre.written);
                if (d.present() != null) {
                    // a write-protect marker on a page never populated reads as a clean swap entry:
                    // present only if it was before (a private copy swapped out since)
                    PageRanges fresh = d.swappedClean().minus(old.present());
                    present = d.present().minus(pre == null ? fresh : fresh.minus(pre.written));
                    toCopy = written.intersect(present);
                } else {
                    // zapped pages are among the written ones and read back as zeros (holes)
                    present = old.present().union(written);
                    toCopy = written;
                }
                if (pre != null) {
                    // copied before the freeze and not written since: the early copy is the content
                    early = pre.copied.intersect(present).minus(d.written());
                    toCopy = toCopy.minus(early);
                }
            }
        }
        if (present == null) {
            present = scanned != null ? scanned : present(pid, v, pm);
            toCopy = present;
        }
        long obj = old != null ? old.objectId() : newObjectId.getAsLong();
        long base = old != null ? old.objectBase() : v.start();
        long saved = 0;
        if (old != null) {
            PageRanges gone = old.present().minus(present);
            for (int i = 0; i < gone.size(); i++) {
                for (long a = gone.start(i); a < gone.end(i); a += 4096) {
                    plan.hole(obj, (a - base) >>> 12);
                    saved++;
                }
            }
        }
        timings.enter(CaptureTimings.Phase.COPY);
        if (v.readable()) {
            for (int i = 0; i < toCopy.size(); i++) {
                copy(obj, (toCopy.start(i) - base) >>> 12, toCopy.start(i), (toCopy.end(i) - toCopy.start(i)) >>> 12);
            }
        } else {
            for (int i = 0; i < toCopy.size(); i++) {
                copySlow(pid, obj, base, toCopy.start(i), toCopy.end(i));
            }
        }
        saved += toCopy.pages();
        if (early != null) {
            pre.plan(early, obj, base, plan);
            saved += early.pages();
        }
        if (delta && !tracked && v.writable()) {
            timings.enter(CaptureTimings.Phase.TRACK);
            tracked = tracker.track(pid, v);
        }
        next.put(pid, new MemoryLineage.Region(v.start(), v.end(), key, obj, base, present, tracked));
        // a private copy of a file page may be all zeros, which the store keeps as a hole: say which
        // pages are private copies so that restore does not take those from the file
        return region(v, kind, flags, obj, base, saved, kind == Kind.FILE_PRIVATE ? rangeList(present) : List.of());
    }

    private PageRanges present(int pid, Vma v, PageMap pm) {
        PageRanges r = new PageRanges();
        if (pm != null) {
            pm.scanOrThrow(v.start(), v.end(), 0, NOT_FILE_NOT_ZERO, NOT_FILE_NOT_ZERO,
                    PageMap.PAGE_IS_PRESENT | PageMap.PAGE_IS_SWAPPED, r);
        } else {
            PageMap.presentFromFile(pid, v.start(), v.end(), true, r);
        }
        return r;
    }

    private void copy(long obj, long firstPage, long addr, long pages) {
        while (pages > 0) {
            Staging.Slot s = staging.alloc(pages);
            if (s.chunk() != copyChunk || local.full() || remote.count() >= BATCH_IOVECS || remote.bytes() >= BATCH_BYTES) {
                flush();
                copyChunk = s.chunk();
            }
            local.add(staging.address(s.chunk()) + s.offset(), s.pages() << 12);
            remote.add(addr, s.pages() << 12);
            plan.run(obj, firstPage, s.pages(), s.chunk(), s.offset());
            addr += s.pages() << 12;
            firstPage += s.pages();
            pages -= s.pages();
        }
    }

    /** Queues the gathered iovecs as one batch; {@link #drain()} reads them. */
    private void flush() {
        if (remote.count() > 0) {
            pending.add(new IoVecs[] {local, remote});
            pendingBytes += remote.bytes();
            local = spare.isEmpty() ? IoVecs.pooled() : spare.pop();
            remote = spare.isEmpty() ? IoVecs.pooled() : spare.pop();
        }
    }

    /**
     * Reads every queued batch, then recycles the iovecs. A copy of a MiB or more is shared (see
     * {@link SharedCopy}): this thread reads batch after batch, and so do helpers that find a core.
     */
    private void drain() {
        flush();
        if (pending.isEmpty()) {
            return;
        }
        timings.enter(CaptureTimings.Phase.COPY);
        int pid = copyPid;
        try {
            if (pending.size() == 1 || pendingBytes < SHARE_THRESHOLD) {
                for (IoVecs[] b : pending) {
                    read(pid, b);
                }
            } else {
                SharedCopy shared = new SharedCopy(pid, pending.toArray(new IoVecs[0][]));
                for (int i = 0; i < Math.min(HELPERS, pending.size() - 1); i++) {
                    COPIERS.execute(shared::help);
                }
                shared.copy();
                shared.await();
            }
        } finally {
            for (IoVecs[] b : pending) {
                b[0].clear();
                b[1].clear();
                spare.push(b[0]);
                spare.push(b[1]);
            }
            pending.clear();
            pendingBytes = 0;
        }
    }

    /**
     * The batches of one drain, each read by whichever thread claims it first: the capturing
     * thread, and helpers on the copier threads. A helper starts at normal priority, so it gets a
     * core only when no realtime thread of the freeze wants it (the fd reader and the injected
     * calls run beside the copy), then copies at realtime priority like the rest of the freeze.
     * Whatever no helper claimed the capturing thread reads itself, so a helper that comes late
     * finds nothing left, and one that never runs costs nothing; the capturing thread returns only
     * once every batch has been read, as the iovecs and the staging memory are its own again then.
     * Thread-safe.
     */
    private static final class SharedCopy {
        private final int pid;
        private final IoVecs[][] batches;
        private final java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        private final java.util.concurrent.CountDownLatch done;
        private final java.util.concurrent.atomic.AtomicReference<RuntimeException> failure =
                new java.util.concurrent.atomic.AtomicReference<>();

        SharedCopy(int pid, IoVecs[][] batches) {
            this.pid = pid;
            this.batches = batches;
            this.done = new java.util.concurrent.CountDownLatch(batches.length);
        }

        /** Reads batches until none is left to claim; after a failure claims the rest unread. */
        void copy() {
            for (int i = next.getAndIncrement(); i < batches.length; i = next.getAndIncrement()) {
                try {
                    if (failure.get() == null) {
                        read(pid, batches[i]);
                    }
                } catch (RuntimeException e) {
                    failure.compareAndSet(null, e);
                } finally {
                    done.countDown();
                }
            }
        }

        /** {@link #copy} on a copier thread, at realtime priority while it reads. */
        void help() {
            if (next.get() >= batches.length) {
                return;
            }
            FreezePriority.raiseSelf();
            try {
                copy();
            } finally {
                FreezePriority.lowerSelf();
            }
        }

        /** Waits until every batch is read (reads end on their own: not interruptible), then throws the first failure. */
        void await() {
            boolean interrupted = false;
            while (true) {
                try {
                    done.await();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            RuntimeException f = failure.get();
            if (f != null) {
                throw f;
            }
        }
    }

    private static void read(int pid, IoVecs[] b) {
        long want = b[1].bytes();
        long got = Linux.processVmReadv(pid, b[0], b[1]);
        if (got != want) {
            throw new CheckpointException(CheckpointException.Kind.INTERNAL, "pid " + pid
                    + ": process_vm_readv read " + got + " of " + want + " bytes at 0x" + Long.toHexString(b[1].base(0)));
        }
    }

    private void copySlow(int pid, long obj, long base, long start, long end) {
        flush();
        for (long a = start; a < end; a += 4096) {
            byte[] data = Linux.readMem(pid, a, 4096);
            Staging.Slot s = staging.alloc(1);
            staging.page(s.chunk(), s.offset()).put(data);
            plan.run(obj, (a - base) >>> 12, 1, s.chunk(), s.offset());
        }
    }

    private static String mapFile(int pid, Vma v) {
        return "/proc/" + pid + "/map_files/" + Long.toHexString(v.start()) + "-" + Long.toHexString(v.end());
    }

    /**
     * Notes a file whose content the checkpoint must hold (a memfd, a POSIX shm object or a deleted
     * file held by an fd), readable through {@code source}; saved once per identity with the shared
     * memory.
     */
    public void noteFile(String identity, String path, String source) {
        synchronized (sharedLock) {
            sharedObject(identity, path, source);
        }
    }

    /** The object of a shared identity (the previous checkpoint's, or a new one), noted with its path and source. */
    private long sharedObject(String identity, String path, String source) {
        long obj = next.shared.computeIfAbsent(identity, k -> {
            Long old = prev.shared.get(k);
            return old != null ? old : newObjectId.getAsLong();
        });
        sharedPaths.putIfAbsent(identity, path);
        sources.putIfAbsent(identity, source);
        return obj;
    }

    /**
     * Saves every shared memory identity and noted file, once, reading it through one of its
     * sources (holes read as zeros without allocating, and zero pages are stored as holes). A delta
     * writes only the pages whose hash differs from the previous checkpoint's, so a large file that
     * changes little costs a read, not a write.
     */
    public List<SharedMemoryImage> captureShared() {
        drain();
        List<SharedMemoryImage> out = new ArrayList<>();
        ByteBuffer page = ByteBuffer.allocateDirect(4096);
        java.util.zip.CRC32C c1 = new java.util.zip.CRC32C();
        java.util.zip.CRC32 c2 = new java.util.zip.CRC32();
        for (Map.Entry<String, String> e : sources.entrySet()) {
            String id = e.getKey();
            String path = sharedPaths.get(id);
            long obj = next.shared.get(id);
            long extent = 0;
            for (long[] m : sharedMaps.getOrDefault(id, List.of())) {
                extent = Math.max(extent, m[3] + m[2] - m[1]);
            }
            boolean anonymous = id.startsWith("anon:") || path.startsWith("/dev/zero") || path.startsWith("[");
            Path file = Path.of(e.getValue());
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                long size = anonymous ? Math.max(extent, ch.size()) : ch.size();
                int mode = 0, uid = 0, gid = 0, seals = 0;
                if (!anonymous) {
                    mode = (Integer) java.nio.file.Files.getAttribute(file, "unix:mode") & 07777;
                    uid = (Integer) java.nio.file.Files.getAttribute(file, "unix:uid");
                    gid = (Integer) java.nio.file.Files.getAttribute(file, "unix:gid");
                }
                if (path.startsWith("/memfd:")) {
                    seals = seals(e.getValue());
                }
                SharedMemoryImage.Sysv sysv = null;
                if (path.startsWith("/SYSV")) {
                    long[] seg = sysvSegment(Long.parseLong(id.substring(id.lastIndexOf(':') + 1)), path);
                    sysv = new SharedMemoryImage.Sysv((int) seg[0], (int) seg[1], (seg[2] & SHM_DEST) != 0);
                    mode = (int) seg[2] & 0777;
                    uid = (int) seg[3];
                    gid = (int) seg[4];
                    size = seg[5];
                }
                long pages = (size + 4095) >>> 12;
                long[] old = delta && obj == prev.shared.getOrDefault(id, -1L) ? prev.sharedHashes.get(id) : null;
                long[] hashes = new long[(int) pages];
                for (long i = 0; i < pages; i++) {
                    page.clear();
                    while (page.hasRemaining()) {
                        if (ch.read(page, (i << 12) + page.position()) <= 0) {
                            while (page.hasRemaining()) {
                                page.put((byte) 0);
                            }
                        }
                    }
                    page.flip();
                    c1.reset();
                    c1.update(page);
                    page.flip();
                    c2.reset();
                    c2.update(page);
                    page.flip();
                    long h = c1.getValue() << 32 | c2.getValue();
                    hashes[(int) i] = h;
                    if (old != null && i < old.length && old[(int) i] == h) {
                        continue;
                    }
                    Staging.Slot s = staging.alloc(1);
                    ByteBuffer dst = staging.page(s.chunk(), s.offset());
                    dst.put(page);
                    plan.run(obj, i, 1, s.chunk(), s.offset());
                }
                if (old != null) {
                    for (long i = pages; i < old.length; i++) {
                        plan.hole(obj, i);
                    }
                }
                next.sharedHashes.put(id, hashes);
                out.add(new SharedMemoryImage(id, path, size, obj, seals, mode, uid, gid, sysv));
            } catch (IOException ex) {
                throw new UncheckedIOException("content of " + path + " (" + id + ") through " + file, ex);
            }
        }
        return out;
    }

    private static final long SHM_DEST = 01000;

    /** A SysV segment's key, id, perms, uid, gid and size from /proc/sysvipc/shm (its id is the inode maps shows). */
    private static long[] sysvSegment(long shmid, String path) {
        try {
            for (String line : java.nio.file.Files.readAllLines(Path.of("/proc/sysvipc/shm"))) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 8 && f[1].equals(Long.toString(shmid))) {
                    return new long[] {Long.parseLong(f[0]), shmid, Long.parseLong(f[2], 8), Long.parseLong(f[7]),
                            Long.parseLong(f[8]), Long.parseLong(f[3])};
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading /proc/sysvipc/shm", e);
        }
        throw new CheckpointException(CheckpointException.Kind.INTERNAL, "SysV shared memory " + path + ": shmid "
                + shmid + " is not in /proc/sysvipc/shm");
    }

    /** A memfd's seals, read through an fd of slsd's own on it. */
    private static int seals(String source) {
        int fd = org.sls.slsd.linux.FdCalls.open(source, org.sls.slsd.linux.FdCalls.O_RDONLY
                | org.sls.slsd.linux.FdCalls.O_CLOEXEC);
        try {
            return org.sls.slsd.linux.FdCalls.fcntl(fd, org.sls.slsd.linux.FdCalls.F_GET_SEALS, 0, source);
        } catch (org.sls.slsd.linux.NativeException ex) {
            return 0;
        } finally {
            Linux.close(fd);
        }
    }

    /** Deletes, as of this epoch, the objects of the previous lineage nothing refers to any more. */
    public void dropVanishedObjects() {
        Set<Long> live = next.objects();
        for (long obj : prev.objects()) {
            if (!live.contains(obj)) {
                plan.delete(obj);
            }
        }
    }

    @Override
    public void close() {
        for (IoVecs[] b : pending) { // not drained: a failure
            b[0].close();
            b[1].close();
        }
        pending.clear();
        local.close();
        remote.close();
        spare.forEach(IoVecs::close);
        spare.clear();
    }
}
