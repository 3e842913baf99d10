package org.sls.slsd.restore;

import org.sls.slsd.checkpoint.manifest.ProcessImage;
import org.sls.slsd.checkpoint.manifest.RegionImage;
import org.sls.slsd.checkpoint.manifest.RegionImage.Kind;
import org.sls.slsd.checkpoint.manifest.SharedMemoryImage;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.RestoreCalls;
import org.sls.slsd.linux.UffdFill;
import org.sls.slsd.linux.Vma;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.sls.slsd.linux.RestoreCalls.*;

/**
 * Step 4 for every husk: the mm fields and exe set (PR_SET_MM_MAP, before any file is mapped so that the old exe cannot be "still
 * mapped"), every VMA recreated with MAP_FIXED (writable while its pages are written), the pages
 * written from slos by a {@link PageWriter} for all husks at once, then the final protections and
 * madvise flags. Shared memory (shared anonymous, memfd, shm) and deleted files are made once per
 * identity by slsd ({@link org.sls.slsd.resources.SharedFiles}) and mapped from it by every husk,
 * so the processes share them again. Not thread-safe; runs on the restore's tracer thread.
 */
final class MemoryRestorer {
    private static final Logger log = LoggerFactory.getLogger(MemoryRestorer.class);

    private static final long SYS_PIDFD_OPEN = 434, SYS_PIDFD_GETFD = 438;
    private static final int SLSD = org.sls.slsd.linux.Linux.getpid();

    private final RestoreRun run;
    private final PageWriter writer;
    /** Per husk, the regions mapped writable only for their pages to be written. */
    private final Map<Husk, List<RegionImage>> toProtect = new HashMap<>();
    /** Per husk, the fresh anonymous regions with pages: filled through a userfaultfd when one can be had. */
    private final Map<Husk, List<RegionImage>> fillable = new LinkedHashMap<>();
    private final Map<Husk, UffdFill> fills = new LinkedHashMap<>();
    private static volatile boolean uffdFallbackLogged;
    /** Off only in tests, to exercise the process_vm_writev path that kernels without userfaultfd take. */
    static volatile boolean fillWithUserfaultfd = true;

    MemoryRestorer(RestoreRun run) {
        this.run = run;
        this.writer = new PageWriter(run.reader, run.timings);
    }

    /**
     * PR_SET_MM_MAP: code, data, brk, stack, arg and env bounds, auxv and the exe file. Done while
     * the husk maps no file, so the kernel's "old exe still mapped" rule (EBUSY) cannot trigger.
     */
    void setMm(Husk h) {
        ProcessImage p = h.image;
        ProcessImage.MmImage mm = p.mm();
        run.at(RestoreStep.PROCESS_STATE, p.pid(), "PR_SET_MM_MAP (exe " + p.exe() + ")");
        int exeFd = -1;
        if (!p.exe().isEmpty() && !p.exe().endsWith(" (deleted)")) {
            exeFd = (int) h.leader.call("openat " + p.exe(), SYS_OPENAT, AT_FDCWD, h.leader.data(cString(p.exe())),
                    O_RDONLY | O_CLOEXEC, 0);
        }
        byte[] auxv = Base64.getDecoder().decode(p.auxv());
        long auxvAddr = h.leader.data(auxv);
        long map = h.leader.data(prctlMmMap(mm.startCode(), mm.endCode(), mm.startData(), mm.endData(),
                mm.startBrk(), Math.max(mm.brk(), mm.startBrk()), mm.startStack(), mm.argStart(), mm.argEnd(),
                mm.envStart(), mm.envEnd(), auxvAddr, auxv.length, exeFd));
        h.leader.call("prctl(PR_SET_MM_MAP)", SYS_PRCTL, PR_SET_MM, PR_SET_MM_MAP, map, PRCTL_MM_MAP_SIZE);
        if (exeFd >= 0) {
            h.leader.call("close", SYS_CLOSE, exeFd);
        }
    }

    /** Step 4a: every VMA of the husk, at its address, writable while its pages are to be written. */
    void mapAll(Husk h) {
        Map<String, Integer> fds = new HashMap<>();
        List<RegionImage> protect = new ArrayList<>();
        try {
            for (RegionImage r : h.image.regions()) {
                if (r.special()) {
                    continue;
                }
                run.at(RestoreStep.MEMORY, h.checkpointedPid(), "map VMA " + Hexes.range(r) + " " + r.prot() + " "
                        + (r.path().isEmpty() ? r.kind().toString().toLowerCase() : r.path()));
                long prot = prot(r.prot());
                boolean hasPages = false;
                switch (r.kind()) {
                    case ANON, HEAP, STACK -> {
                        hasPages = queuePages(h, r);
                        long flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | growsDown(r) | noReserve(r);
                        mmap(h, r, hasPages ? prot | PROT_READ | PROT_WRITE : prot, flags, -1);
                        if (hasPages) {
                            fillable.computeIfAbsent(h, k -> new ArrayList<>()).add(r);
                        }
                    }
                    case FILE_PRIVATE -> {
                        hasPages = queuePages(h, r);
                        // a deleted file's content is in the checkpoint: mapped from the file slsd made of it
                        int fd = fds.computeIfAbsent(r.path() + "\0r", k -> r.path().endsWith(" (deleted)")
                                && run.files.image(r.identity()).isPresent()
                                ? fromSlsd(h, run.files.fd(r.identity(), 0)) : open(h, r.path(), O_RDONLY));
                        mmap(h, r, hasPages ? prot | PROT_READ | PROT_WRITE : prot, MAP_PRIVATE | MAP_FIXED | noReserve(r), fd);
                    }
                    case FILE_SHARED -> {
                        int acc = r.prot().charAt(1) == 'w' ? O_RDWR : O_RDONLY;
                        int fd = fds.computeIfAbsent(r.path() + "\0" + acc, k -> open(h, r.path(), acc));
                        mmap(h, r, prot, MAP_SHARED | MAP_FIXED, fd);
                    }
                    case SHARED -> mapShared(h, r, prot);
                    default -> throw new RestoreException(RestoreException.Kind.UNSUPPORTED, Checks.who(h.checkpointedPid())
                            + ": mapping " + Hexes.range(r) + " of kind " + r.kind() + " cannot be restored");
                }
                if (hasPages || hasAdvice(r) || r.path().startsWith("/SYSV")) { // SysV: attached rw, then its protection
                    protect.add(r);
                }
                nameAnonymous(h, r);
            }
        } finally {
            for (int fd : fds.values()) {
                h.leader.raw(SYS_CLOSE, fd);
            }
        }
        toProtect.put(h, protect);
    }

    /** "[anon:name]" (private) and "[anon_shmem:name]" (shared) mappings get their name back. */
    private void nameAnonymous(Husk h, RegionImage r) {
        String p = r.path();
        String name = p.startsWith("[anon:") ? p.substring(6, p.length() - 1)
                : p.startsWith("[anon_shmem:") ? p.substring(12, p.length() - 1) : null;
        if (name == null || !p.endsWith("]")) {
            return;
        }
        long res = h.leader.raw(SYS_PRCTL, PR_SET_VMA, PR_SET_VMA_ANON_NAME, r.start(), r.length(),
                h.leader.data(cString(name)));
        if (res < 0) {
            log.info("pid {}: {} keeps no name {} (prctl PR_SET_VMA: {})", h.checkpointedPid(), Hexes.range(r), p, res);
        }
    }

    private int open(Husk h, String path, int flags) {
        return (int) h.leader.call("openat " + path, SYS_OPENAT, AT_FDCWD, h.leader.data(cString(path)),
                flags | O_CLOEXEC, 0);
    }

    private void mmap(Husk h, RegionImage r, long prot, long flags, int fd) {
        long got = h.leader.call("mmap", SYS_MMAP, r.start(), r.length(), prot, flags, fd, fd < 0 ? 0 : r.offset());
        if (got != r.start()) {
            throw new IllegalStateException("mmap put " + Hexes.range(r) + " at " + Hexes.hex(got));
        }
    }

    /**
     * A shared mapping of the file slsd made for its identity (shared memory, a memfd, POSIX shm, a
     * deleted file), taken into the husk with pidfd_getfd for the mmap.
     */
    private void mapShared(Husk h, RegionImage r, long prot) {
        String key = r.identity().isEmpty() ? r.path() : r.identity();
        var sysv = run.files.image(key).filter(i -> i.sysv() != null);
        if (sysv.isPresent()) {
            attachSysv(h, r, sysv.get());
            return;
        }
        if (run.files.image(key).isEmpty()) {
            // the capture keys anonymous shared memory without an inode by pid and address
            String anon = "anon:" + h.checkpointedPid() + ":" + Hexes.hex(r.start());
            if (run.files.image(anon).isPresent()) {
                key = anon;
            }
        }
        run.at("shared memory " + key + " (" + r.path() + ")");
        int fd = fromSlsd(h, run.files.fd(key, r.offset() + r.length()));
        try {
            mmap(h, r, prot, MAP_SHARED | MAP_FIXED, fd);
        } finally {
            h.leader.raw(SYS_CLOSE, fd);
        }
    }

    /** Per husk, the SysV segments attached (by identity). */
    private final Map<Husk, java.util.Set<String>> sysvAttached = new HashMap<>();
    /** SysV identities whose segment exists for this run: true when it was made anew (to be filled). */
    private final Map<String, Boolean> sysvSegments = new LinkedHashMap<>();

    /**
     * A SysV segment attached again at its address, under its id and key: the live segment when it
     * still exists (as a POSIX shm object would be), else made anew with the checkpoint's content,
     * mode and owner; one marked removed is marked again once every husk attached it.
     */
    private void attachSysv(Husk h, RegionImage r, SharedMemoryImage img) {
        SharedMemoryImage.Sysv sv = img.sysv();
        String what = "SysV shared memory key " + sv.key() + " shmid " + sv.id();
        boolean fresh = sysvSegments.computeIfAbsent(img.identity(), k -> {
            long[] st = org.sls.slsd.linux.SysvShm.stat(sv.id());
            if (st != null) {
                if ((int) st[0] != sv.key() || st[1] != img.size()) {
                    throw new RestoreException(RestoreException.Kind.FILE_CHANGED, Checks.who(h.checkpointedPid()) + ": "
                            + what + ": shmid " + sv.id() + " is now another segment (key " + st[0] + ", " + st[1] + " bytes)");
                }
                return false;
            }
            run.at("create " + what);
            org.sls.slsd.linux.SysvShm.create(sv.key(), sv.id(), img.size(), img.mode(), img.uid(), img.gid());
            return true;
        });
        long base = r.start() - r.offset();
        if (!sysvAttached.computeIfAbsent(h, k -> new java.util.HashSet<>()).add(img.identity())) {
            return; // the whole segment is attached already; its regions get their protections in finish
        }
        run.at("shmat " + what + " at " + Hexes.hex(base));
        long flags = SHM_REMAP | (r.prot().charAt(2) == 'x' ? SHM_EXEC : 0);
        long got = h.leader.call("shmat", SYS_SHMAT, sv.id(), base, flags);
        if (got != base) {
            throw new IllegalStateException("shmat put " + what + " at " + Hexes.hex(got) + ", not " + Hexes.hex(base));
        }
        if (fresh && img.objectId() != 0) {
            sysvSegments.put(img.identity(), false); // filled once, through this husk's attach
            for (long p : run.reader.pages(img.objectId())) {
                if ((p << 12) < img.size()) {
                    writer.add(h.pid, base + (p << 12), img.objectId(), p, 1, false);
                }
            }
        }
    }

    /** Marks again for removal the SysV segments that were, once every husk attached them. */
    void finishSysv() {
        for (String id : sysvSegments.keySet()) {
            SharedMemoryImage img = run.files.image(id).orElseThrow();
            if (img.sysv().removed()) {
                org.sls.slsd.linux.SysvShm.remove(img.sysv().id());
            }
        }
    }

    private static final long SYS_SHMAT = 30, SHM_REMAP = 040000, SHM_EXEC = 0100000;

    /** The husk's copy of slsd's fd {@code slsdFd} (the same open file), by pidfd_getfd. */
    private static int fromSlsd(Husk h, int slsdFd) {
        int pidfd = (int) h.leader.call("pidfd_open(slsd)", SYS_PIDFD_OPEN, SLSD, 0);
        try {
            return (int) h.leader.call("pidfd_getfd(slsd fd " + slsdFd + ")", SYS_PIDFD_GETFD, pidfd, slsdFd, 0);
        } finally {
            h.leader.raw(SYS_CLOSE, pidfd);
        }
    }

    /**
     * Queues the pages the store holds for a private region, and for a private file mapping the
     * private copies the store holds no data for (all-zero copies, stored as holes), which must be
     * zeros rather than the file's content. True when anything is to be written.
     */
    private boolean queuePages(Husk h, RegionImage r) {
        long firstIdx = (r.start() - r.objectBase()) >> 12;
        long endIdx = (r.end() - r.objectBase()) >> 12;
        long[] pages = r.objectId() == 0 ? new long[0] : run.reader.pages(r.objectId());
        boolean any = false;
        int i = 0;
        while (i < pages.length) {
            long p = pages[i];
            if (p < firstIdx || p >= endIdx) {
                i++;
                continue;
            }
            int j = i + 1;
            while (j < pages.length && pages[j] == pages[j - 1] + 1 && pages[j] < endIdx) {
                j++;
            }
            writer.add(h.pid, r.objectBase() + (p << 12), r.objectId(), p, j - i, r.kind() != Kind.FILE_PRIVATE);
            any = true;
            i = j;
        }
        if (r.kind() == Kind.FILE_PRIVATE && r.privatePages() != null && !r.privatePages().isEmpty()) {
            java.util.Set<Long> withData = new java.util.HashSet<>();
            for (long p : pages) {
                withData.add(p);
            }
            for (String range : r.privatePages()) {
                int dash = range.indexOf('-');
                long start = Math.max(r.start(), org.sls.slsd.checkpoint.manifest.Hex.parse(range.substring(0, dash)));
                long end = Math.min(r.end(), org.sls.slsd.checkpoint.manifest.Hex.parse(range.substring(dash + 1)));
                long runStart = -1;
                for (long a = start; a <= end; a += 4096) {
                    boolean zero = a < end && !withData.contains((a - r.objectBase()) >> 12);
                    if (zero && runStart < 0) {
                        runStart = a;
                    } else if (!zero && runStart >= 0) {
                        writer.add(h.pid, runStart, PageWriter.ZEROS, 0, (int) ((a - runStart) >> 12), false);
                        any = true;
                        runStart = -1;
                    }
                }
            }
        }
        return any;
    }

    /** Step 4b: the pages of every husk, read from slos in large batches. */
    void writePages() {
        try {
            for (var e : fillable.entrySet()) {
                if (fillWithUserfaultfd) {
                    takeUserfaultfd(e.getKey(), e.getValue());
                }
            }
            run.at(RestoreStep.MEMORY, run.husks.values().iterator().next().checkpointedPid(), "write pages");
            writer.writeAll(run);
        } finally {
            endFills();
        }
    }

    /**
     * A userfaultfd made in the husk (injected), taken into slsd and closed in the husk, with the
     * husk's fresh anonymous regions registered on it. Without one (no userfaultfd, or it refuses)
     * the pages go through process_vm_writev like the rest: slower, same result.
     */
    private void takeUserfaultfd(Husk h, List<RegionImage> regions) {
        run.at(RestoreStep.MEMORY, h.checkpointedPid(), "userfaultfd to fill anonymous memory");
        long fd = h.leader.raw(UffdFill.SYS_USERFAULTFD, UffdFill.CREATE_FLAGS);
        if (fd < 0) {
            if (!uffdFallbackLogged) {
                uffdFallbackLogged = true;
                log.info("userfaultfd unavailable in the husk ({}): memory is written with process_vm_writev", fd);
            }
            return;
        }
        UffdFill fill;
        try {
            fill = UffdFill.take(h.pid, (int) fd);
        } catch (RuntimeException e) {
            log.info("pid {}: cannot use its userfaultfd ({}): memory is written with process_vm_writev",
                    h.checkpointedPid(), e.getMessage());
            return;
        } finally {
            h.leader.raw(SYS_CLOSE, fd);
        }
        fills.put(h, fill);
        for (RegionImage r : regions) {
            run.at("UFFDIO_REGISTER " + Hexes.range(r));
            fill.registerMissing(r.start(), r.length());
        }
        writer.fillWith(h.pid, fill);
    }

    /** Unregisters every filled region (the restored process keeps no trace of it) and lets the fds go. */
    private void endFills() {
        for (var e : fills.entrySet()) {
            try {
                for (RegionImage r : fillable.get(e.getKey())) {
                    e.getValue().unregister(r.start(), r.length());
                }
            } finally {
                e.getValue().close();
            }
        }
        fills.clear();
    }

    /** Step 4c: final protections and madvise flags. */
    void finish(Husk h) {
        for (RegionImage r : toProtect.getOrDefault(h, List.of())) {
            run.at(RestoreStep.MEMORY, h.checkpointedPid(), "mprotect VMA " + Hexes.range(r) + " " + r.prot());
            long prot = prot(r.prot());
            if ((r.kind() != Kind.SHARED && r.kind() != Kind.FILE_SHARED) || r.path().startsWith("/SYSV")) {
                h.leader.call("mprotect", SYS_MPROTECT, r.start(), r.length(), prot);
            }
            advise(h, r);
        }
    }

    private void advise(Husk h, RegionImage r) {
        for (String f : r.vmFlags()) {
            long advice = switch (f) {
                case "dd" -> MADV_DONTDUMP;
                case "wf" -> MADV_WIPEONFORK;
                case "dc" -> MADV_DONTFORK;
                case "hg" -> MADV_HUGEPAGE;
                case "nh" -> MADV_NOHUGEPAGE;
                case "mg" -> MADV_MERGEABLE;
                default -> -1;
            };
            if (advice >= 0) {
                long res = h.leader.raw(SYS_MADVISE, r.start(), r.length(), advice);
                if (res < 0) {
                    log.info("pid {}: madvise {} on {} failed ({}): the flag is not restored", h.checkpointedPid(), f,
                            Hexes.range(r), res);
                }
            }
        }
        if (r.vmFlags().contains("lo")) {
            log.info("pid {}: {} was mlocked; the lock is not restored", h.checkpointedPid(), Hexes.range(r));
        }
    }

    private static boolean hasAdvice(RegionImage r) {
        for (String f : r.vmFlags()) {
            if (f.equals("dd") || f.equals("wf") || f.equals("dc") || f.equals("hg") || f.equals("nh")
                    || f.equals("mg") || f.equals("lo")) {
                return true;
            }
        }
        return false;
    }

    private static long growsDown(RegionImage r) {
        return r.kind() == Kind.STACK || r.vmFlags().contains("gd") ? MAP_GROWSDOWN : 0;
    }

    private static long noReserve(RegionImage r) {
        return r.vmFlags().contains("nr") ? MAP_NORESERVE : 0;
    }

    static long prot(String perms) {
        long p = PROT_NONE;
        if (perms.charAt(0) == 'r') p |= PROT_READ;
        if (perms.charAt(1) == 'w') p |= PROT_WRITE;
        if (perms.charAt(2) == 'x') p |= PROT_EXEC;
        return p;
    }
}
