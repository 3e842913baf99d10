package org.sls.slsd.linux;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.sls.slsd.linux.LinuxSyscalls.*;

/**
 * What the running kernel and slsd's privileges allow, probed once at start-up with
 * {@link #probe()} (CRIU's kerndat): each engine asks this record instead of trying and failing.
 * Immutable and thread-safe.
 *
 * @param kernelRelease   uname -r
 * @param ptrace          ptrace is usable on other processes (CAP_SYS_PTRACE, Yama allows it)
 * @param uffdWpAsync     userfaultfd with UFFD_FEATURE_WP_ASYNC | WP_UNPOPULATED (6.7+)
 * @param pagemapScan     the PAGEMAP_SCAN ioctl on /proc/PID/pagemap (6.7+)
 * @param clone3SetTid    clone3 with set_tid (CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN)
 * @param pidfdGetfd      pidfd_open + pidfd_getfd
 * @param tcpRepair       setsockopt(TCP_REPAIR) (CAP_NET_ADMIN)
 * @param fuse            /dev/fuse and a fusermount binary
 * @param timerIds        prctl(PR_TIMER_CREATE_RESTORE_IDS): POSIX timers restored under their ids (6.13+)
 * @param timeNamespaces  time namespaces (/proc/self/timens_offsets): clocks carry on after a reboot
 * @param realtime        the SCHED_FIFO policy may be set (CAP_SYS_NICE, a cgroup with realtime
 *                        runtime): freezes run at realtime priority
 */
public record KernelFeatures(String kernelRelease, boolean ptrace, boolean uffdWpAsync, boolean pagemapScan,
                             boolean clone3SetTid, boolean pidfdGetfd, boolean tcpRepair, boolean fuse,
                             boolean timerIds, boolean timeNamespaces, boolean realtime) {

    /** Incremental checkpoints need both the async write-protect tracker and PAGEMAP_SCAN. */
    public boolean incrementalCheckpoints() {
        return uffdWpAsync && pagemapScan && pidfdGetfd;
    }

    /** A kernel that supports nothing optional (for tests of the fallbacks). */
    public KernelFeatures withoutIncremental() {
        return new KernelFeatures(kernelRelease, ptrace, false, false, clone3SetTid, pidfdGetfd, tcpRepair, fuse,
                timerIds, timeNamespaces, realtime);
    }

    public static KernelFeatures probe() {
        return new KernelFeatures(Linux.kernelRelease(), probePtrace(), probeUffd(), probePagemapScan(),
                probeClone3(), probePidfd(), probeTcpRepair(), probeFuse(), Linux.timerRestoreIdsAvailable(),
                new File("/proc/self/timens_offsets").exists(), probeRealtime());
    }

    /** One line per feature, for logs and {@code slsctl check}. */
    public String describe() {
        return "kernel " + kernelRelease + "\n"
                + line("ptrace", ptrace, "attach, freeze, inject")
                + line("userfaultfd WP async", uffdWpAsync, "incremental checkpoints")
                + line("PAGEMAP_SCAN", pagemapScan, "dirty and present page scans")
                + line("clone3 set_tid", clone3SetTid, "restore with original PIDs")
                + line("pidfd_getfd", pidfdGetfd, "fetch target fds")
                + line("TCP_REPAIR", tcpRepair, "TCP connections")
                + line("FUSE", fuse, "slfs")
                + line("timer ids", timerIds, "POSIX timers restored under their ids")
                + line("time namespaces", timeNamespaces, "clocks carry on after a reboot")
                + line("SCHED_FIFO", realtime, "freezes at realtime priority");
    }

    private static String line(String name, boolean ok, String what) {
        return String.format("  %-22s %-4s %s%n", name, ok ? "yes" : "no", what);
    }

    private static boolean capEff(int bit) {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("CapEff:")) {
                    return (Long.parseUnsignedLong(l.substring(7).trim(), 16) >>> bit & 1) != 0;
                }
            }
        } catch (Exception e) {
            return false;
        }
        return false;
    }

    private static boolean probePtrace() {
        try {
            Path yama = Path.of("/proc/sys/kernel/yama/ptrace_scope");
            if (Files.exists(yama) && Files.readString(yama).trim().equals("3")) {
                return false;
            }
        } catch (Exception e) {
            return false;
        }
        // a request on a pid that cannot exist: ESRCH means the call itself is available
        return Sys.raw(SYS_PTRACE, PTRACE_INTERRUPT, 0x3fffffff, 0, 0, 0, 0) == -Errno.ESRCH
                && (capEff(19) || Linux.getuid() != 0);
    }

    private static boolean probeUffd() {
        try (Userfaultfd u = Userfaultfd.createLocal(Userfaultfd.CREATE_FLAGS | Userfaultfd.USER_MODE_ONLY)) {
            long granted = u.api(Userfaultfd.FEATURES_WP_ASYNC);
            return (granted & Userfaultfd.FEATURES_WP_ASYNC) == Userfaultfd.FEATURES_WP_ASYNC;
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static boolean probePagemapScan() {
        try (NativeMemory m = NativeMemory.map(4096 * 4, true, false); PageMap pm = PageMap.open(Linux.getpid())) {
            PageRanges out = new PageRanges();
            return pm.scan(m.address(), m.address() + m.size(), 0, 0, 0, PageMap.PAGE_IS_PRESENT, out) == 0
                    && out.pages() == 4;
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static boolean probeClone3() {
        // clone3(NULL, 0) fails with EINVAL when the syscall exists
        return Sys.raw(SYS_CLONE3, 0, 0, 0, 0, 0, 0) == -Errno.EINVAL && (capEff(40) || capEff(21));
    }

    private static boolean probePidfd() {
        try {
            int pidfd = Linux.pidfdOpen(Linux.getpid());
            try {
                int dup = Linux.pidfdGetfd(pidfd, pidfd);
                Linux.close(dup);
                return true;
            } finally {
                Linux.close(pidfd);
            }
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static boolean probeTcpRepair() {
        long fd = Sys.raw(SYS_SOCKET, 2 /* AF_INET */, 1 /* SOCK_STREAM */ | 0x80000, 0, 0, 0, 0);
        if (fd < 0) {
            return false;
        }
        try {
            jnr.ffi.Pointer one = Sys.alloc(4);
            one.putInt(0, 1);
            boolean ok = Sys.raw(SYS_SETSOCKOPT, fd, 6 /* IPPROTO_TCP */, 19 /* TCP_REPAIR */, one.address(), 4, 0) == 0;
            Sys.keep(one);
            return ok;
        } finally {
            Linux.close((int) fd);
        }
    }

    /** Raises the calling thread to SCHED_FIFO 1 and puts its policy back. */
    private static boolean probeRealtime() {
        try {
            int before = Sched.policy(0);
            if (!Sched.fair(before)) {
                return true;
            }
            Sched.setPolicy(0, Sched.SCHED_FIFO | (before & Sched.SCHED_RESET_ON_FORK), 1);
            Sched.setPolicy(0, before, 0);
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static boolean probeFuse() {
        if (!new File("/dev/fuse").exists()) {
            return false;
        }
        String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
        for (String dir : path.split(":")) {
            if (new File(dir, "fusermount").canExecute() || new File(dir, "fusermount3").canExecute()) {
                return true;
            }
        }
        return false;
    }
}
