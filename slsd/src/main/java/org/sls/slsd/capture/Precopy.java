package org.sls.slsd.capture;

import org.sls.slsd.checkpoint.manifest.RegionImage.Kind;
import org.sls.slsd.linux.IoVecs;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.NativeException;
import org.sls.slsd.linux.PageRanges;
import org.sls.slsd.linux.Vma;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Pages copied before the freeze, as live migration does (DESIGN section 5): for each tracked
 * VMA, the pages written since its last protection are protected again and copied into
 * {@link Staging} while the process still runs. The freeze then copies only what was written
 * since (and what the early copy missed); a page not written since keeps its early copy, which
 * is its content at the freeze: any write after the early scan would have shown as written.
 *
 * <p>The early scan has protected pages again, so a checkpoint that fails after it must not be the
 * parent of the next delta (the caller drops the lineage, as for any failure after the tracker was
 * touched). Only VMAs the tracker scans on its fast path are copied early (anonymous, no huge
 * pages): the others need the present pages too, which only the freeze can tell.
 *
 * <p>Not thread-safe: filled by the freezing thread before the freeze, then read by the one thread
 * that captures private memory.
 */
public final class Precopy {
    /** One VMA's pages written since its last protection, as the early scan found them. */
    static final class Region {
        final long end;
        /** Protected again by the early scan: written since the previous checkpoint. */
        final PageRanges written;
        /** Among them, those copied (a copy fails when the process unmaps them meanwhile). */
        final PageRanges copied = new PageRanges();
        /** Where the copied pages are: {address, pages, chunk, offset}, in address order. */
        final List<long[]> runs = new ArrayList<>();

        Region(long end, PageRanges written) {
            this.end = end;
            this.written = written;
        }

        /**
         * Plans the pages of {@code keep} (all among {@link #copied}) from their early copies, as
         * pages of object {@code obj} based at {@code base}.
         */
        void plan(PageRanges keep, long obj, long base, EpochPlan plan) {
            int j = 0;
            for (long[] r : runs) {
                long s = r[0];
                long e = s + (r[1] << 12);
                while (j < keep.size() && keep.end(j) <= s) {
                    j++;
                }
                for (int k = j; k < keep.size() && keep.start(k) < e; k++) {
                    long from = Math.max(s, keep.start(k));
                    long to = Math.min(e, keep.end(k));
                    plan.run(obj, (from - base) >>> 12, (to - from) >>> 12, (int) r[2], r[3] + (from - s));
                }
            }
        }
    }

    private final Map<Integer, Map<Long, Region>> regions = new HashMap<>();
    private long pages;

    private Precopy() {}

    /**
     * Protects again and copies, for each process, the written pages of each VMA that the previous
     * checkpoint tracked at the same range.
     *
     * @param vmas  per process, its VMAs read before the freeze (with their VmFlags)
     */
    public static Precopy run(Map<Integer, List<Vma>> vmas, MemoryLineage prev, DirtyTracker tracker, Staging staging) {
        Precopy out = new Precopy();
        try (IoVecs local = IoVecs.pooled(); IoVecs remote = IoVecs.pooled()) {
            for (Map.Entry<Integer, List<Vma>> e : vmas.entrySet()) {
                int pid = e.getKey();
                for (Vma v : e.getValue()) {
                    MemoryLineage.Region old = v.readable() ? continued(prev, pid, v) : null;
                    if (old == null || !old.tracked()) {
                        continue;
                    }
                    PageRanges w = tracker.writtenEarly(pid, v);
                    if (w == null) {
                        continue;
                    }
                    Region r = new Region(v.end(), w);
                    out.regions.computeIfAbsent(pid, k -> new HashMap<>()).put(v.start(), r);
                    out.copy(pid, r, staging, local, remote);
                }
            }
        }
        return out;
    }

    /** The private anonymous region of the previous checkpoint that {@code v} continues, or null. */
    private static MemoryLineage.Region continued(MemoryLineage prev, int pid, Vma v) {
        Kind kind;
        try {
            kind = MemoryCapture.kindOf(pid, v);
        } catch (RuntimeException e) {
            return null; // refused while frozen
        }
        return kind == Kind.ANON || kind == Kind.HEAP || kind == Kind.STACK
                ? MemoryCapture.continued(prev, pid, v, kind) : null;
    }

    /** Copies the written pages of one VMA, a batch of up to IOV_MAX runs at a time. */
    private void copy(int pid, Region r, Staging staging, IoVecs local, IoVecs remote) {
        List<long[]> batch = new ArrayList<>();
        for (int i = 0; i < r.written.size(); i++) {
            long addr = r.written.start(i);
            long left = (r.written.end(i) - addr) >>> 12;
            while (left > 0) {
                Staging.Slot s = staging.alloc(left);
                if (local.full()) {
                    read(pid, r, batch, local, remote);
                }
                local.add(staging.address(s.chunk()) + s.offset(), s.pages() << 12);
                remote.add(addr, s.pages() << 12);
                batch.add(new long[] {addr, s.pages(), s.chunk(), s.offset()});
                addr += s.pages() << 12;
                left -= s.pages();
            }
        }
        read(pid, r, batch, local, remote);
    }

    /** Reads one batch; what it could not read is left to the freeze (not among {@code copied}). */
    private void read(int pid, Region r, List<long[]> batch, IoVecs local, IoVecs remote) {
        if (batch.isEmpty()) {
            return;
        }
        long got;
        try {
            got = Linux.processVmReadv(pid, local, remote);
        } catch (NativeException e) {
            got = 0; // unmapped meanwhile, or the process is gone: the freeze will tell
        }
        for (long[] b : batch) {
            long bytes = b[1] << 12;
            if (got < bytes) {
                break;
            }
            got -= bytes;
            r.copied.add(b[0], b[0] + bytes);
            r.runs.add(b);
            pages += b[1];
        }
        batch.clear();
        local.clear();
        remote.clear();
    }

    /** Pages copied early, all processes. */
    public long pages() { return pages; }

    /** The early copy of a VMA at exactly this range, or null (each is taken once). */
    Region take(int pid, long start, long end) {
        Map<Long, Region> mine = regions.get(pid);
        Region r = mine == null ? null : mine.remove(start);
        return r != null && r.end == end ? r : null;
    }
}
