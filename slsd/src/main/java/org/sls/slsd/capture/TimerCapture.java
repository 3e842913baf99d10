package org.sls.slsd.capture;

import org.sls.slsd.checkpoint.CheckpointException;
import org.sls.slsd.checkpoint.manifest.ClockImage;
import org.sls.slsd.checkpoint.manifest.PosixTimerImage;
import org.sls.slsd.checkpoint.manifest.PosixTimerImage.Notify;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.ProcFs.PosixTimerEntry;

import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * A process's POSIX timers and clocks at a checkpoint. The refusals come first (from /proc only, so
 * {@code slsctl check} can run them on a live process): a timer whose clock or target could not be
 * the same after a restore (another process's CPU-time clock, the CPU-time clock of an unknown
 * thread, a dynamic clock), and a process whose children would enter another time namespace than
 * its own. The times left come from timer_gettime injected by {@link StateCapture}; the clocks are
 * the host's plus the offsets of the process's time namespace. Stateless, thread-safe.
 */
public final class TimerCapture {
    /** Clocks timer_create(2) accepts by number: REALTIME, MONOTONIC, PROCESS_CPUTIME, THREAD_CPUTIME, BOOTTIME, the two ALARMs, TAI. */
    private static final List<Integer> TIMER_CLOCKS = List.of(0, 1, 2, 3, 7, 8, 9, 11);
    private static final int CLOCK_THREAD_CPUTIME_ID = 3;
    private static final int CPUCLOCK_PERTHREAD = 4, CLOCKFD = 3;

    private TimerCapture() {}

    /** Throws {@link CheckpointException} (unsupported) for the first timer or clock that cannot be restored as it is. */
    public static void checkSupported(int pid) {
        String time = ProcFs.link(pid, "ns/time").orElse("");
        String forChildren = ProcFs.link(pid, "ns/time_for_children").orElse(time);
        if (!time.equals(forChildren)) {
            throw CheckpointException.unsupported(pid, "has unshared a time namespace (" + forChildren
                    + ") that its children would enter, not its own (" + time + ")");
        }
        if (!java.nio.file.Files.exists(java.nio.file.Path.of("/proc", Integer.toString(pid), "timers")) && ProcFs.exists(pid)) {
            throw CheckpointException.unsupported(pid, "cannot have its POSIX timers listed (no /proc/" + pid
                    + "/timers: a kernel without CONFIG_CHECKPOINT_RESTORE)");
        }
        List<Integer> tids = ProcFs.tasks(pid);
        for (PosixTimerEntry t : ProcFs.posixTimers(pid)) {
            refusal(pid, t, tids).ifPresent(why -> {
                throw CheckpointException.unsupported(pid, "POSIX timer " + t.id() + " (clock " + t.clock() + ") " + why);
            });
        }
    }

    /** Why the timer cannot be restored faithfully, if it cannot. */
    static Optional<String> refusal(int pid, PosixTimerEntry t, Collection<Integer> tids) {
        int c = t.clock();
        if (c < 0) {
            int owner = ~(c >> 3);
            boolean perThread = (c & CPUCLOCK_PERTHREAD) != 0;
            if ((c & 7) == CLOCKFD) {
                return Optional.of("runs on a dynamic clock (a clock fd)");
            }
            if (owner == 0 && perThread && tids.size() > 1) {
                return Optional.of("runs on the CPU-time clock of the thread that created it, which the kernel does"
                        + " not tell, in a process with " + tids.size() + " threads");
            }
            if (owner != 0 && perThread && !tids.contains(owner)) {
                return Optional.of("runs on the CPU-time clock of thread " + owner + ", which is not one of its threads");
            }
            if (owner != 0 && !perThread && owner != pid) {
                return Optional.of("runs on the CPU-time clock of pid " + owner + ", another process");
            }
        } else if (!TIMER_CLOCKS.contains(c)) {
            return Optional.of("runs on a clock this version does not know");
        } else if (c == CLOCK_THREAD_CPUTIME_ID && tids.size() > 1) {
            return Optional.of("runs on the CPU-time clock of the thread that created it, which the kernel does not"
                    + " tell, in a process with " + tids.size() + " threads");
        }
        if (t.threadId() && !t.notification().equals("none") && !tids.contains(t.target())) {
            return Optional.of("signals thread " + t.target() + ", which is not one of its threads");
        }
        if (!t.notification().equals("signal") && !t.notification().equals("none")) {
            return Optional.of("notifies by \"" + t.notification() + "\", which this version does not know");
        }
        return Optional.empty();
    }

    /** The image of one timer, with {@code its} the struct itimerspec timer_gettime filled in. */
    static PosixTimerImage image(PosixTimerEntry t, ByteBuffer its, int offset) {
        Notify notify = t.notification().equals("none") ? Notify.NONE : t.threadId() ? Notify.THREAD_ID : Notify.SIGNAL;
        long intervalNs = its.getLong(offset) * 1_000_000_000L + its.getLong(offset + 8);
        long valueNs = its.getLong(offset + 16) * 1_000_000_000L + its.getLong(offset + 24);
        return new PosixTimerImage(t.id(), t.clock(), notify, t.signal(), t.value(),
                notify == Notify.THREAD_ID ? t.target() : 0, valueNs, intervalNs);
    }

    /** CLOCK_MONOTONIC and CLOCK_BOOTTIME as the process sees them now. */
    public static ClockImage clocks(int pid) {
        long[] offsets = ProcFs.timensOffsets(pid);
        return new ClockImage(Linux.clockNanos(Linux.CLOCK_MONOTONIC) + offsets[0],
                Linux.clockNanos(Linux.CLOCK_BOOTTIME) + offsets[1]);
    }
}
