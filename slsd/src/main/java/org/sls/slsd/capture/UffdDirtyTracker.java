package org.sls.slsd.capture;

import org.sls.slsd.linux.Errno;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.PageMap;
import org.sls.slsd.linux.PageRanges;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.SyscallInjector;
import org.sls.slsd.linux.Userfaultfd;
import org.sls.slsd.linux.Vma;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.Map;

/**
 * Dirty tracking with userfaultfd write-protect in async mode (Linux 6.7+). Per process: a
 * userfaultfd is created inside the target by injection ({@code UFFD_USER_MODE_ONLY} for a non-root
 * target), fetched into slsd with pidfd_getfd, and the target's copy closed by injection, so the
 * target never keeps an extra fd. Each tracked VMA is registered in WP mode and write-protected;
 * at each checkpoint PAGEMAP_SCAN with PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC returns the
 * pages written since and protects them again.
 *
 * <p><b>Hot VMAs.</b> Protecting a page again costs the target a write fault the next time it
 * writes it, and a page table change that can cost it more than that: in a virtual machine with
 * shadow page tables, every later access to the page until the hypervisor has rebuilt its entry.
 * A VMA most of whose pages are written in every interval (the heap of a busy key-value store)
 * pays that for most of its pages at every checkpoint, while copying its other pages too would
 * cost little more. So a VMA whose written pages reached {@code hotShare} of its present pages at
 * two measured checkpoints in a row runs <i>hot</i>: it is not protected again for some checkpoints
 * ({@link #hotRun}), each of which copies every page written since it was last protected (pages
 * never written since stay protected and are not copied). Then one scan protects it again (that
 * checkpoint copies the same), and the next one measures it anew. Correct whatever the share: a
 * page written since the previous checkpoint is one written since the last protection.
 *
 * <p>Not thread-safe: the freezing thread only.
 */
public final class UffdDirtyTracker implements DirtyTracker {
    private static final Logger log = LoggerFactory.getLogger(UffdDirtyTracker.class);
    private static final long SYS_CLOSE = 3;
    private final Map<Integer, Userfaultfd> uffds = new HashMap<>();
    private final Map<Integer, PageMap> pagemaps = new HashMap<>();
    private final Map<Integer, String> stamps = new HashMap<>();
    /** Per process, per VMA start: how much of it the last intervals wrote. */
    private final Map<Integer, Map<Long, Heat>> heat = new HashMap<>();
    private final double hotShare;

    /** A tracked VMA's recent history (see the class comment). */
    private static final class Heat {
        final long end;
        /** Measured checkpoints in a row whose written pages reached the share. */
        int streak;
        /** Checkpoints left before the VMA is protected again. */
        int hotLeft;
        /** The next scan's written pages are those since the protection before a hot run, not one interval's. */
        boolean rearmed;

        Heat(long end) {
            this.end = end;
        }
    }

    /** Pages of hot VMAs a process may copy over one hot run before they are measured again (256 MiB). */
    static final long HOT_RUN_PAGES = 65_536;
    /** The longest hot run, in checkpoints. */
    static final int HOT_RUN_MAX = 16;

    /** Without hot VMAs: every written page is protected again at every checkpoint. */
    public UffdDirtyTracker() {
        this(Double.POSITIVE_INFINITY);
    }

    /**
     * @param hotShare the share of its present pages an interval must write for a VMA to run hot
     *                 ({@code memory.hot.share}); above 1, none does
     */
    public UffdDirtyTracker(double hotShare) {
        if (!(hotShare > 0)) {
            throw new IllegalArgumentException("memory.hot.share must be positive, not " + hotShare);
        }
        this.hotShare = hotShare;
    }

    /**
     * Checkpoints a VMA with {@code pages} present pages runs hot: up to {@link #HOT_RUN_MAX}, fewer
     * for a big one, which copies all its written pages at each (at least one).
     */
    public static int hotRun(long pages) {
        return (int) Math.max(1, Math.min(HOT_RUN_MAX, HOT_RUN_PAGES / Math.max(1, pages)));
    }

    @Override
    public String name() { return "uffd-wp-async"; }

    @Override
    public boolean needsPreparation(int pid) { return !uffds.containsKey(pid); }

    @Override
    public void prepare(int pid, SyscallInjector leader) {
        if (uffds.containsKey(pid)) {
            return;
        }
        boolean root = ProcFs.status(pid).get("Uid").trim().split("\\s+")[1].equals("0");
        long flags = Userfaultfd.CREATE_FLAGS | (root ? 0 : Userfaultfd.USER_MODE_ONLY);
        long targetFd = leader.call(Userfaultfd.syscallNumber(), flags, 0, 0, 0, 0, 0);
        if (targetFd == -Errno.EPERM && root) {
            // root without CAP_SYS_PTRACE (a container): user-mode-only is all async WP needs anyway
            targetFd = leader.call(Userfaultfd.syscallNumber(), flags | Userfaultfd.USER_MODE_ONLY, 0, 0, 0, 0, 0);
        }
        if (targetFd < 0) {
            log.warn("pid {}: userfaultfd in the target failed (errno {}), full checkpoints for it", pid, -targetFd);
            return;
        }
        int mine;
        try {
            int pidfd = Linux.pidfdOpen(pid);
            try {
                mine = Linux.pidfdGetfd(pidfd, (int) targetFd);
            } finally {
                Linux.close(pidfd);
            }
        } finally {
            leader.call(SYS_CLOSE, targetFd, 0, 0, 0, 0, 0);
        }
        Userfaultfd u = new Userfaultfd(mine, "pid " + pid);
        try {
            u.api(Userfaultfd.FEATURES_WP_ASYNC);
        } catch (RuntimeException e) {
            u.close();
            log.warn("pid {}: UFFDIO_API: {}", pid, e.getMessage());
            return;
        }
        uffds.put(pid, u);
        pagemaps.put(pid, PageMap.open(pid));
    }

    @Override
    public PageRanges written(int pid, Vma vma) {
        PageMap pm = pagemaps.get(pid);
        if (pm == null) {
            return null;
        }
        PageRanges out = new PageRanges();
        // category WRITTEN alone: the kernel's fast path (also reports zapped, now empty, ptes)
        long r = pm.scanWritten(vma.start(), vma.end(), PageMap.WP_MATCHING | PageMap.CHECK_WPASYNC, out);
        if (r == -Errno.EPERM) {
            return null; // not registered: a VMA new since the last checkpoint
        }
        if (r < 0) {
            throw new org.sls.slsd.linux.NativeException("ioctl", (int) -r, "PAGEMAP_SCAN, pid " + pid + " " + vma);
        }
        return out;
    }

    /**
     * Anonymous VMAs without huge pages only (the fast scan). A VMA copied early is protected at
     * every checkpoint, hot or not: its hot run, if any, ends here.
     */
    @Override
    public PageRanges writtenEarly(int pid, Vma vma) {
        if (thpPossible(vma) || vma.fileBacked()) {
            return null;
        }
        PageRanges w = written(pid, vma);
        if (w != null) {
            Map<Long, Heat> mine = heat.get(pid);
            if (mine != null) {
                mine.remove(vma.start());
            }
        }
        return w;
    }

    @Override
    public Dirty dirty(int pid, Vma vma, long knownPages) {
        if (hotShare > 1 || !pagemaps.containsKey(pid)) {
            return dirty(pid, vma);
        }
        Map<Long, Heat> mine = heat.computeIfAbsent(pid, k -> new HashMap<>());
        Heat h = mine.get(vma.start());
        if (h == null || h.end != vma.end()) {
            h = new Heat(vma.end());
            mine.put(vma.start(), h);
        }
        if (h.hotLeft > 0) {
            Dirty d = presentAndWritten(pid, vma, false);
            if (d == null) {
                mine.remove(vma.start());
                return null;
            }
            if (--h.hotLeft == 0) {
                h.rearmed = true;
            }
            return d;
        }
        Dirty d = h.rearmed ? presentAndWritten(pid, vma, true) : dirty(pid, vma);
        if (d == null) {
            mine.remove(vma.start());
            return null;
        }
        if (h.rearmed) {
            h.rearmed = false; // written since before the hot run: says nothing of one interval
            return d;
        }
        long written = d.written().pages();
        if (knownPages > 0 && written >= hotShare * knownPages) {
            if (++h.streak >= 2) {
                h.streak = 1; // after the run, one more hot interval starts the next
                h.hotLeft = hotRun(knownPages);
                log.debug("pid {}: {} runs hot for {} checkpoints ({} of {} pages written)", pid, vma, h.hotLeft,
                        written, knownPages);
            }
        } else {
            h.streak = 0;
        }
        return d;
    }

    @Override
    public Dirty dirty(int pid, Vma vma) {
        // anonymous memory: zapped pages lose their protection and show up as written (read back as
        // zeros); a zapped copy-on-write page of a private file mapping keeps a protection marker
        // instead, and huge pages zap whole page tables: for those, walk the categories
        if (!thpPossible(vma) && !vma.fileBacked()) {
            PageRanges w = written(pid, vma);
            return w == null ? null : new Dirty(null, w);
        }
        return presentAndWritten(pid, vma, true);
    }

    /**
     * Transparent huge pages may back this VMA: a zapped huge page leaves no page table, so the
     * fast scan would not see it; walk the categories instead.
     */
    private static boolean thpPossible(Vma vma) {
        return vma.has("hg") || (THP_ALWAYS && !vma.has("nh"));
    }

    private static final boolean THP_ALWAYS = readThpAlways();

    private static boolean readThpAlways() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/sys/kernel/mm/transparent_hugepage/enabled"))
                    .contains("[always]");
        } catch (java.io.IOException e) {
            return true;
        }
    }

    /** Walks the categories of every page of the VMA; {@code protect}: the written ones are protected again. */
    private Dirty presentAndWritten(int pid, Vma vma, boolean protect) {
        PageMap pm = pagemaps.get(pid);
        if (pm == null) {
            return null;
        }
        PageRanges present = new PageRanges();
        PageRanges written = new PageRanges();
        PageRanges swappedClean = new PageRanges();
        long here = PageMap.PAGE_IS_PRESENT | PageMap.PAGE_IS_SWAPPED;
        long notData = PageMap.PAGE_IS_FILE | PageMap.PAGE_IS_PFNZERO;
        long r = pm.scanAll(vma.start(), vma.end(), (protect ? PageMap.WP_MATCHING : 0) | PageMap.CHECK_WPASYNC,
                here | notData | PageMap.PAGE_IS_WRITTEN, (s, e, cat) -> {
                    if ((cat & here) != 0 && (cat & notData) == 0) {
                        present.add(s, e);
                        if ((cat & PageMap.PAGE_IS_WRITTEN) != 0) {
                            written.add(s, e);
                        } else if ((cat & PageMap.PAGE_IS_PRESENT) == 0) {
                            swappedClean.add(s, e);
                        }
                    }
                });
        if (r == -Errno.EPERM) {
            return null;
        }
        if (r < 0) {
            throw new org.sls.slsd.linux.NativeException("ioctl", (int) -r, "PAGEMAP_SCAN, pid " + pid + " " + vma);
        }
        return new Dirty(present, written, swappedClean);
    }

    @Override
    public boolean track(int pid, Vma vma) {
        Userfaultfd u = uffds.get(pid);
        if (u == null) {
            return false;
        }
        long r = u.tryRegisterWriteProtect(vma.start(), vma.length());
        if (r < 0) {
            log.debug("pid {}: cannot register {} for write-protect (errno {})", pid, vma, -r);
            return false;
        }
        u.writeProtect(vma.start(), vma.length(), true);
        return true;
    }

    @Override
    public void identify(int pid, String stamp) {
        String old = stamps.get(pid);
        if (old != null && !old.equals(stamp)) {
            forget(pid);
        }
        stamps.put(pid, stamp);
    }

    @Override
    public void forget(int pid) {
        stamps.remove(pid);
        heat.remove(pid);
        Userfaultfd u = uffds.remove(pid);
        if (u != null) {
            u.close();
        }
        PageMap pm = pagemaps.remove(pid);
        if (pm != null) {
            pm.close();
        }
    }

    @Override
    public void close() {
        for (Integer pid : uffds.keySet().toArray(new Integer[0])) {
            forget(pid);
        }
    }
}
