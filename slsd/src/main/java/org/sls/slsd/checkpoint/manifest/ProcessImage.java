package org.sls.slsd.checkpoint.manifest;

import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;

import java.util.List;

/**
 * One process as captured: identity and tree links, /proc state, sigactions, threads, memory
 * regions and fds. Immutable.
 *
 * @param state       the /proc state letter at freeze time ("S", "R", "T" for job-control stopped)
 * @param auxv        the raw auxiliary vector, base64
 * @param sigactions  every signal whose disposition is not SIG_DFL (caught or ignored), and SIGCHLD
 * @param sharedPending signals pending for the whole process (shared queue)
 * @param itimers     ITIMER_REAL, ITIMER_VIRTUAL and ITIMER_PROF as getitimer returned them
 * @param posixTimers every POSIX timer (timer_create), by id
 * @param clocks      CLOCK_MONOTONIC and CLOCK_BOOTTIME as the process saw them (null in checkpoints
 *                    made before they were recorded)
 * @param children    pids of the children included in this checkpoint
 */
public record ProcessImage(int pid, int ppid, int pgid, int sid, String comm, String state, String exe,
                           String cwd, String root, int umask, Credentials credentials, List<Rlimit> rlimits,
                           @JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long personality,
                           MmImage mm, String auxv, List<SigactionImage> sigactions,
                           List<SiginfoImage> sharedPending, List<ThreadImage> threads, List<RegionImage> regions,
                           List<FdImage> fds, List<Integer> children, List<ItimerImage> itimers,
                           List<PosixTimerImage> posixTimers, ClockImage clocks) {

    public ProcessImage {
        // checkpoints made before these were recorded have none
        itimers = itimers == null ? List.of() : itimers;
        posixTimers = posixTimers == null ? List.of() : posixTimers;
    }

    /** The canonical form before interval timers were recorded (itimers left empty). */
    public ProcessImage(int pid, int ppid, int pgid, int sid, String comm, String state, String exe, String cwd,
                        String root, int umask, Credentials credentials, List<Rlimit> rlimits, long personality,
                        MmImage mm, String auxv, List<SigactionImage> sigactions, List<SiginfoImage> sharedPending,
                        List<ThreadImage> threads, List<RegionImage> regions, List<FdImage> fds, List<Integer> children) {
        this(pid, ppid, pgid, sid, comm, state, exe, cwd, root, umask, credentials, rlimits, personality, mm, auxv,
                sigactions, sharedPending, threads, regions, fds, children, List.of(), List.of(), null);
    }

    /** A copy with the given memory regions. */
    public ProcessImage withRegions(List<RegionImage> r) {
        return new ProcessImage(pid, ppid, pgid, sid, comm, state, exe, cwd, root, umask, credentials, rlimits,
                personality, mm, auxv, sigactions, sharedPending, threads, r, fds, children, itimers, posixTimers,
                clocks);
    }

    /** A copy with the given fds. */
    public ProcessImage withFds(List<FdImage> f) {
        return new ProcessImage(pid, ppid, pgid, sid, comm, state, exe, cwd, root, umask, credentials, rlimits,
                personality, mm, auxv, sigactions, sharedPending, threads, regions, f, children, itimers, posixTimers,
                clocks);
    }

    /** The region containing {@code address}, if any. */
    public RegionImage regionAt(long address) {
        for (RegionImage r : regions) {
            if (r.start() <= address && address < r.end()) {
                return r;
            }
        }
        return null;
    }

    /** The user and group ids and capabilities from /proc/PID/status. */
    public record Credentials(List<Integer> uids, List<Integer> gids, List<Integer> groups, String capInh,
                              String capPrm, String capEff, String capBnd, String capAmb, boolean noNewPrivs,
                              int seccomp) {}

    /** One resource limit; -1 means unlimited. */
    public record Rlimit(String resource, long soft, long hard) {}

    /** The mm fields PR_SET_MM_MAP takes (from /proc/PID/stat, brk by injection). */
    public record MmImage(@JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long startCode,
                          @JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long endCode,
                          @JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long startData,
                          @JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long endData,
                          @JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long startBrk,
                          @JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long brk,
                          @JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long startStack,
                          @JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long argStart,
                          @JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long argEnd,
                          @JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long envStart,
                          @JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long envEnd) {}

    /** A signal's disposition (kernel struct sigaction: handler, flags, restorer, mask). */
    public record SigactionImage(int signal,
                                 @JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long handler,
                                 @JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long flags,
                                 @JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long restorer,
                                 @JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long mask) {}

    /** One interval timer (which: 0 real, 1 virtual, 2 prof); all zero when disarmed. */
    public record ItimerImage(int which, long intervalSec, long intervalUsec, long valueSec, long valueUsec) {}

    /** A pending signal: number, si_code and the whole 128-byte siginfo in base64. */
    public record SiginfoImage(int signal, int code, String siginfo) {}
}
