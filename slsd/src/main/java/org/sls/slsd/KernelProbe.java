package org.sls.slsd;

import org.sls.libsls.KernelFeature;
import org.sls.slsd.linux.KernelFeatures;
import org.sls.slsd.linux.Linux;

import java.util.List;

/**
 * slsd's start-up contact with the kernel: the feature probe (done once, as CRIU's kerndat) in
 * the protocol's terms, and becoming a child subreaper so that restored trees reparent to slsd.
 * Stateless.
 */
final class KernelProbe {
    private KernelProbe() {
    }

    /** Probes the kernel once. */
    static KernelFeatures probe() {
        return KernelFeatures.probe();
    }

    /** The features as {@code slsctl check} shows them. */
    static List<KernelFeature> describe(KernelFeatures k) {
        return List.of(
                new KernelFeature("kernel", true, k.kernelRelease()),
                new KernelFeature("ptrace", k.ptrace(), k.ptrace() ? "attach, freeze, inject syscalls" : "ptrace is not permitted (Yama or capabilities)"),
                new KernelFeature("uffd-wp-async", k.uffdWpAsync(), k.uffdWpAsync()
                        ? "userfaultfd WP_ASYNC|WP_UNPOPULATED: incremental checkpoints" : "missing (kernel < 6.7?): checkpoints are full"),
                new KernelFeature("pagemap-scan", k.pagemapScan(), k.pagemapScan() ? "PAGEMAP_SCAN ioctl: dirty and present page scans" : "missing: /proc/PID/pagemap is read instead"),
                new KernelFeature("clone3-set-tid", k.clone3SetTid(), k.clone3SetTid() ? "restore with the original PIDs" : "missing (needs CAP_CHECKPOINT_RESTORE): restore needs --new-pids"),
                new KernelFeature("pidfd-getfd", k.pidfdGetfd(), k.pidfdGetfd() ? "fetch a target's fds" : "missing: no incremental checkpoints"),
                new KernelFeature("tcp-repair", k.tcpRepair(), k.tcpRepair() ? "TCP_REPAIR: established connections" : "missing (needs CAP_NET_ADMIN)"),
                new KernelFeature("fuse", k.fuse(), k.fuse() ? "/dev/fuse and fusermount: slfs" : "missing: install fuse3 and libfuse2"),
                new KernelFeature("timer-ids", k.timerIds(), k.timerIds() ? "PR_TIMER_CREATE_RESTORE_IDS: POSIX timers restored under their ids"
                        : "missing (kernel < 6.13): a process with POSIX timers cannot be restored"),
                new KernelFeature("time-namespaces", k.timeNamespaces(), k.timeNamespaces()
                        ? "CLOCK_MONOTONIC and CLOCK_BOOTTIME carry on from the checkpoint after a reboot"
                        : "missing: after a reboot restored processes see CLOCK_MONOTONIC go back"),
                new KernelFeature("realtime", k.realtime(), k.realtime()
                        ? "SCHED_FIFO: freezes run at realtime priority (freeze.realtime)"
                        : "refused (CAP_SYS_NICE, or the cgroup's realtime runtime): freezes at normal priority"));
    }

    /** prctl(PR_SET_CHILD_SUBREAPER, 1) on slsd. */
    static void becomeSubreaper() {
        Linux.setChildSubreaper(true);
    }
}
