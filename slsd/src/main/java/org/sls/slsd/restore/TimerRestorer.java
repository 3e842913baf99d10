package org.sls.slsd.restore;

import org.sls.slsd.checkpoint.manifest.ClockImage;
import org.sls.slsd.checkpoint.manifest.Manifest;
import org.sls.slsd.checkpoint.manifest.PosixTimerImage;
import org.sls.slsd.checkpoint.manifest.ProcessImage;
import org.sls.slsd.linux.Errno;
import org.sls.slsd.linux.Linux;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.sls.slsd.linux.RestoreCalls.*;

/**
 * Timers and clocks of the restored processes. Interval timers and POSIX timers are armed by
 * syscalls injected into each husk's main thread once its threads exist (a SIGEV_THREAD_ID timer
 * needs its thread): POSIX timers are recreated under their own ids
 * (PR_TIMER_CREATE_RESTORE_IDS), clock and notification, and every timer is armed with the time it
 * had left at the checkpoint, relative to now. When the checkpointed clocks are ahead of the host's
 * (a restore after a reboot), the husk template first moves its future children into a new time
 * namespace whose offsets make CLOCK_MONOTONIC and CLOCK_BOOTTIME carry on from the checkpoint's
 * values, as CRIU does: the restored processes see time stand still while they were away, never go
 * backwards, and their timers fire late, never not at all. Not thread-safe; runs on the restore's
 * tracer thread.
 */
final class TimerRestorer {
    private static final Logger log = LoggerFactory.getLogger(TimerRestorer.class);
    private static final int CPUCLOCK_PERTHREAD = 4;

    private final RestoreRun run;

    TimerRestorer(RestoreRun run) {
        this.run = run;
    }

    /**
     * Before any husk is cloned from the template: when any process's checkpointed
     * CLOCK_MONOTONIC or CLOCK_BOOTTIME is ahead of the host's, the template unshares a time
     * namespace (for its children: the template itself stays outside) and slsd writes its offsets,
     * each the largest lead of a checkpointed clock over the host's (0 where the host is ahead: that
     * clock moves on). Processes that were in different time namespaces share this one; none of
     * their clocks goes backwards.
     */
    void timeNamespace(Manifest m, HuskInjector template) {
        long monotonic = 0;
        long boottime = 0;
        long hostMonotonic = Linux.clockNanos(Linux.CLOCK_MONOTONIC);
        long hostBoottime = Linux.clockNanos(Linux.CLOCK_BOOTTIME);
        for (ProcessImage p : m.processes()) {
            ClockImage c = p.clocks();
            if (c != null) {
                monotonic = Math.max(monotonic, c.monotonicNs() - hostMonotonic);
                boottime = Math.max(boottime, c.boottimeNs() - hostBoottime);
            }
        }
        if (monotonic == 0 && boottime == 0) {
            return;
        }
        Path offsets = Path.of("/proc", Integer.toString(template.tgid()), "timens_offsets");
        if (!Files.exists(Path.of("/proc/self/timens_offsets"))) {
            log.warn("partition {} epoch {}: the checkpoint's CLOCK_MONOTONIC is {} s ahead of this host's, but the"
                    + " kernel has no time namespaces: the restored processes see their clocks go back", run.partition,
                    m.epoch(), monotonic / 1_000_000_000L);
            return;
        }
        run.at(RestoreStep.TREE, m.processes().get(0).pid(), "unshare(CLONE_NEWTIME) in the husk template");
        template.call("unshare(CLONE_NEWTIME)", SYS_UNSHARE, CLONE_NEWTIME);
        String text = "1 " + monotonic / 1_000_000_000L + " " + monotonic % 1_000_000_000L + "\n"
                + "7 " + boottime / 1_000_000_000L + " " + boottime % 1_000_000_000L + "\n";
        run.at("write " + offsets + ": " + text.strip().replace('\n', ','));
        try {
            Files.write(offsets, text.getBytes(StandardCharsets.US_ASCII), StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new UncheckedIOException(offsets.toString(), e);
        }
        log.info("partition {} epoch {}: restored into a time namespace with CLOCK_MONOTONIC +{} ms and CLOCK_BOOTTIME"
                + " +{} ms (the checkpoint's clocks were ahead of the host's: a reboot)", run.partition, m.epoch(),
                monotonic / 1_000_000, boottime / 1_000_000);
    }

    /** Interval timers and POSIX timers of one process, armed in its main thread. */
    void restore(Husk h) {
        ProcessImage p = h.image;
        HuskInjector inj = h.leader;
        for (ProcessImage.ItimerImage it : p.itimers()) {
            boolean periodic = it.intervalSec() != 0 || it.intervalUsec() != 0;
            boolean armed = it.valueSec() != 0 || it.valueUsec() != 0;
            if (!armed && !periodic) {
                continue;
            }
            run.at(RestoreStep.PROCESS_STATE, p.pid(), "setitimer(" + it.which() + ")");
            // a periodic ITIMER_REAL whose SIGALRM is pending reads as 0 left: the kernel re-arms it
            // one interval after the signal is dequeued, so the restore arms it one interval from now
            // (the pending SIGALRM itself is queued again with the other pending signals)
            long sec = armed ? it.valueSec() : it.intervalSec();
            long usec = armed ? it.valueUsec() : it.intervalUsec();
            inj.call("setitimer", SYS_SETITIMER, it.which(),
                    inj.data(itimerval(it.intervalSec(), it.intervalUsec(), sec, usec)), 0);
        }
        if (p.posixTimers().isEmpty()) {
            return;
        }
        run.at(RestoreStep.PROCESS_STATE, p.pid(), "prctl(PR_TIMER_CREATE_RESTORE_IDS, ON)");
        long r = inj.raw(SYS_PRCTL, PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_ON, 0, 0, 0);
        if (r == -Errno.EINVAL) {
            throw new RestoreException(RestoreException.Kind.UNSUPPORTED, Checks.who(p.pid()) + ": POSIX timers "
                    + p.posixTimers().stream().map(t -> String.valueOf(t.id())).toList() + " need their ids back, and"
                    + " this kernel cannot choose a timer's id (PR_TIMER_CREATE_RESTORE_IDS, Linux 6.13)");
        } else if (r < 0) {
            inj.call("prctl(PR_TIMER_CREATE_RESTORE_IDS, ON)", SYS_PRCTL, PR_TIMER_CREATE_RESTORE_IDS,
                    PR_TIMER_CREATE_RESTORE_IDS_ON, 0, 0, 0);
        }
        for (PosixTimerImage t : p.posixTimers()) {
            int target = t.notification() == PosixTimerImage.Notify.THREAD_ID ? restoredTid(h, t.targetTid()) : 0;
            int clock = clock(h, t.clock());
            run.at("POSIX timer " + t.id() + ": timer_create(clock " + clock + ", " + t.notification() + " signal "
                    + t.signal() + ")");
            long sev = inj.data(sigevent(t.value(), t.signal(), t.notification().sigevNotify, target));
            long id = inj.data(java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                    .putInt(0, t.id()).array());
            inj.call("timer_create", SYS_TIMER_CREATE, clock, sev, id);
        }
        run.at("prctl(PR_TIMER_CREATE_RESTORE_IDS, OFF)");
        inj.call("prctl(PR_TIMER_CREATE_RESTORE_IDS, OFF)", SYS_PRCTL, PR_TIMER_CREATE_RESTORE_IDS,
                PR_TIMER_CREATE_RESTORE_IDS_OFF, 0, 0, 0);
        for (PosixTimerImage t : p.posixTimers()) {
            if (!t.armed()) {
                continue;
            }
            run.at("POSIX timer " + t.id() + ": timer_settime(" + t.valueNs() + " ns, every " + t.intervalNs() + " ns)");
            inj.call("timer_settime", SYS_TIMER_SETTIME, t.id(), 0, inj.data(itimerspec(t.intervalNs(), t.valueNs())), 0);
        }
        log.debug("pid {}: {} POSIX timers restored", p.pid(), p.posixTimers().size());
    }

    private static int restoredTid(Husk h, int checkpointedTid) {
        HuskInjector t = h.threads.get(checkpointedTid);
        if (t == null) {
            throw new IllegalStateException("thread " + checkpointedTid + " of pid " + h.checkpointedPid()
                    + " is not in the checkpoint");
        }
        return t.tid();
    }

    /** A CPU-time clock names its process or thread by pid: the restored one's, which differs under new PIDs. */
    private static int clock(Husk h, int clock) {
        if (clock >= 0) {
            return clock;
        }
        int owner = ~(clock >> 3);
        if (owner == 0) {
            return clock;
        }
        int restored = (clock & CPUCLOCK_PERTHREAD) != 0 ? restoredTid(h, owner) : h.pid;
        return (~restored << 3) | (clock & 7);
    }
}
