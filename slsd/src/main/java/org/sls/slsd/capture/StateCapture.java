package org.sls.slsd.capture;

import org.sls.slsd.checkpoint.CheckpointException;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.checkpoint.manifest.ProcessImage;
import org.sls.slsd.checkpoint.manifest.ProcessImage.Credentials;
import org.sls.slsd.checkpoint.manifest.ProcessImage.MmImage;
import org.sls.slsd.checkpoint.manifest.ProcessImage.Rlimit;
import org.sls.slsd.checkpoint.manifest.ProcessImage.SigactionImage;
import org.sls.slsd.checkpoint.manifest.ProcessImage.SiginfoImage;
import org.sls.slsd.checkpoint.manifest.PosixTimerImage;
import org.sls.slsd.checkpoint.manifest.RegionImage;
import org.sls.slsd.checkpoint.manifest.ThreadImage;
import org.sls.slsd.linux.Errno;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.NativeException;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.ProcStat;
import org.sls.slsd.linux.Ptrace;
import org.sls.slsd.linux.Regs;
import org.sls.slsd.linux.SyscallInjector;
import org.sls.slsd.linux.Vma;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Reads the non-memory state of one frozen process (DESIGN section 3, step 3): /proc, registers,
 * signal state, rseq, robust list, POSIX timers (with {@link TimerCapture}), and by injected
 * syscalls what only the process can tell (sigactions, tid address, sigaltstack, brk, interval
 * timers, the time left on each POSIX timer). Runs on the freezing thread. Stateless.
 */
public final class StateCapture {
    private static final int SYS_RT_SIGACTION = 13, SYS_BRK = 12, SYS_GETITIMER = 36, SYS_PRCTL = 157, SYS_SIGALTSTACK = 131,
            SYS_TIMER_GETTIME = 224;
    private static final int PR_GET_TID_ADDRESS = 40;
    private static final int SIGCHLD = 17;

    private static final Map<String, String> SELF_NS = new java.util.LinkedHashMap<>();

    static {
        for (String ns : List.of("pid", "mnt", "net", "ipc", "uts", "user")) {
            SELF_NS.put(ns, ProcFs.link(Linux.getpid(), "ns/" + ns).orElse(""));
        }
    }

    private StateCapture() {}

    /** Refuses what this version cannot restore: other namespaces, seccomp filters, some POSIX timers. */
    public static void checkSupported(int pid) {
        for (Map.Entry<String, String> e : SELF_NS.entrySet()) {
            String ns = e.getKey();
            String mine = e.getValue();
            String theirs = ProcFs.link(pid, "ns/" + ns).orElse(mine);
            if (!mine.equals(theirs)) {
                throw CheckpointException.unsupported(pid, "in another " + ns + " namespace (" + theirs + ")");
            }
        }
        Map<String, String> status = ProcFs.status(pid);
        if ("2".equals(status.get("Seccomp"))) {
            throw CheckpointException.unsupported(pid, "seccomp filter");
        }
        TimerCapture.checkSupported(pid);
    }

    /**
     * Captures the process. {@code onLeaderInjection} runs while an injector on the main thread is
     * open (the dirty tracker creates its userfaultfd there).
     */
    public static ProcessImage capture(int pid, List<Integer> tids, char stateBefore, List<Vma> vmas,
                                       List<RegionImage> regions, List<FdImage> fds, List<Integer> children,
                                       Consumer<SyscallInjector> onLeaderInjection) {
        return capture(pid, tids, stateBefore, vmas, regions, fds, children, onLeaderInjection, () -> { },
                new CaptureTimings());
    }

    /**
     * As above, adding the time of each step to {@code t}; {@code beforeInjection} runs once the
     * registers are read, before any thread of the process runs an injected call (its time is
     * {@link CaptureTimings.Phase#SCAN_WAIT}).
     */
    public static ProcessImage capture(int pid, List<Integer> tids, char stateBefore, List<Vma> vmas,
                                       List<RegionImage> regions, List<FdImage> fds, List<Integer> children,
                                       Consumer<SyscallInjector> onLeaderInjection, Runnable beforeInjection,
                                       CaptureTimings t) {
        t.enter(CaptureTimings.Phase.PROC);
        ProcStat stat = ProcFs.stat(pid);
        Map<String, String> status = ProcFs.status(pid);
        long gadget = SyscallInjector.findGadget(pid, vmas);
        // dispositions other than SIG_DFL: caught or ignored (SIGCHLD always, for its flags)
        long sigIgn = Long.parseUnsignedLong(status.get("SigIgn"), 16);
        long sigCgt = Long.parseUnsignedLong(status.get("SigCgt"), 16) | sigIgn;

        List<ThreadImage> threads = new ArrayList<>();
        List<SigactionImage> sigactions = new ArrayList<>();
        List<ProcessImage.ItimerImage> itimers = new ArrayList<>();
        List<ProcFs.PosixTimerEntry> timerEntries = ProcFs.posixTimers(pid);
        List<PosixTimerImage> posixTimers = new ArrayList<>();
        int n = tids.size();
        Regs[] regs = new Regs[n];
        byte[][] xstate = new byte[n][];
        long[] masks = new long[n];
        t.enter(CaptureTimings.Phase.REGS);
        for (int i = 0; i < n; i++) {
            int tid = tids.get(i);
            regs[i] = Ptrace.getRegs(tid);
            xstate[i] = Ptrace.getXState(tid);
            masks[i] = Ptrace.getSigmask(tid);
        }
        List<Integer> sigs = new ArrayList<>();
        for (int sig = 1; sig <= 64; sig++) {
            if (((sigCgt >>> (sig - 1)) & 1) != 0 || sig == SIGCHLD) {
                sigs.add(sig);
            }
        }
        long brk = 0;
        long[] tidAddress = new long[n];
        ThreadImage.AltStack[] altStacks = new ThreadImage.AltStack[n];
        // What only the process can tell. Every thread asks at once (their stops overlap): first its
        // own tid address and alternate stack, then a share of the process-wide questions (brk,
        // sigactions, itimers, POSIX timers: any thread gets the same answers). Each thread runs
        // its list as one batch (one stop) where batch code can be put into the process (over its
        // [vdso], or a page mapped for it), else one call at a time (a stop each, the threads in lockstep).
        // {nr, arg, kind, index}: kind 0 brk, 1 sigaction, 2 itimer, 3 POSIX timer (index in timerEntries)
        List<long[]> wide = new ArrayList<>();
        wide.add(new long[] {SYS_BRK, 0, 0});
        for (int sig : sigs) {
            wide.add(new long[] {SYS_RT_SIGACTION, sig, 1});
        }
        for (int which = 0; which < 3; which++) {
            wide.add(new long[] {SYS_GETITIMER, which, 2});
        }
        for (int k = 0; k < timerEntries.size(); k++) {
            wide.add(new long[] {SYS_TIMER_GETTIME, timerEntries.get(k).id(), 3, k});
        }
        List<SyscallInjector> injs = new ArrayList<>();
        t.enter(CaptureTimings.Phase.SCAN_WAIT);
        beforeInjection.run();
        t.enter(CaptureTimings.Phase.INJECT);
        long code = 0;
        try {
            long[] scratch = new long[n];
            int[] len = new int[n];
            int leader = tids.indexOf(pid);
            List<List<long[]>> calls = new ArrayList<>(); // per thread: {nr, a1, a2, a3, a4, share index or -1}
            for (int i = 0; i < n; i++) {
                calls.add(new ArrayList<>());
            }
            int[] outAt = new int[wide.size()]; // where in its thread's scratch a shared answer lands
            int[] byThread = new int[wide.size()];
            int[] used = new int[n];
            int[] count = new int[n];
            java.util.Arrays.fill(used, 64);
            java.util.Arrays.fill(count, 2);
            for (int j = 0; j < wide.size(); j++) {
                int i = (leader + j) % n;
                byThread[j] = i;
                outAt[j] = used[i];
                used[i] += wide.get(j)[2] == 0 ? 0 : 32;
                count[i]++;
            }
            for (int i = 0; i < n; i++) {
                injs.add(SyscallInjector.begin(pid, tids.get(i), gadget, sigIgn, regs[i], masks[i]));
            }
            // one stop per thread for all its calls where batch code can be put in (see mapBatchCode)
            code = injs.get(leader).mapBatchCode(vmas);
            for (int i = 0; i < n; i++) {
                len[i] = used[i] + (code != 0 ? SyscallInjector.batchTableBytes(count[i]) : 0);
                scratch[i] = injs.get(i).scratch(len[i], vmas);
                calls.get(i).add(new long[] {SYS_PRCTL, PR_GET_TID_ADDRESS, scratch[i], 0, 0, -1});
                calls.get(i).add(new long[] {SYS_SIGALTSTACK, 0, scratch[i] + 8, 0, 0, -1});
            }
            for (int j = 0; j < wide.size(); j++) {
                long[] q = wide.get(j);
                long out = scratch[byThread[j]] + outAt[j];
                calls.get(byThread[j]).add(switch ((int) q[2]) {
                    case 0 -> new long[] {SYS_BRK, 0, 0, 0, 0, j};
                    case 1 -> new long[] {SYS_RT_SIGACTION, q[1], 0, out, 8, j};
                    case 2 -> new long[] {SYS_GETITIMER, q[1], out, 0, 0, j};
                    default -> new long[] {SYS_TIMER_GETTIME, q[1], out, 0, 0, j};
                });
            }
            if (code != 0) {
                long[] tables = new long[n];
                List<List<long[]>> args = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    tables[i] = scratch[i] + used[i];
                    args.add(calls.get(i).stream().map(c -> java.util.Arrays.copyOf(c, 5)).toList());
                }
                long[][] results = SyscallInjector.batchAll(injs, code, tables, args);
                for (int i = 0; i < n; i++) {
                    for (int k = 0; k < results[i].length; k++) {
                        brk = checked(pid, calls.get(i).get(k), results[i][k], brk);
                    }
                }
            } else {
                int rounds = calls.stream().mapToInt(List::size).max().orElse(0);
                for (int r = 0; r < rounds; r++) {
                    List<SyscallInjector> these = new ArrayList<>();
                    List<long[]> what = new ArrayList<>();
                    for (int i = 0; i < n; i++) {
                        if (r < calls.get(i).size()) {
                            these.add(injs.get(i));
                            what.add(calls.get(i).get(r));
                        }
                    }
                    long[] results = SyscallInjector.callAll(these, what);
                    for (int k = 0; k < results.length; k++) {
                        brk = checked(pid, what.get(k), results[k], brk);
                    }
                }
            }
            if (onLeaderInjection != null) {
                onLeaderInjection.accept(injs.get(leader));
            }
            ByteBuffer[] answers = new ByteBuffer[n];
            for (int i = 0; i < n; i++) {
                answers[i] = ByteBuffer.wrap(injs.get(i).readScratch(len[i])).order(ByteOrder.LITTLE_ENDIAN);
                tidAddress[i] = answers[i].getLong(0);
                altStacks[i] = new ThreadImage.AltStack(answers[i].getLong(8), answers[i].getInt(16), answers[i].getLong(24));
            }
            for (int j = 0; j < wide.size(); j++) {
                long[] q = wide.get(j);
                ByteBuffer b = answers[byThread[j]];
                int o = outAt[j];
                if (q[2] == 1) {
                    sigactions.add(new SigactionImage((int) q[1], b.getLong(o), b.getLong(o + 8), b.getLong(o + 16),
                            b.getLong(o + 24)));
                } else if (q[2] == 2) {
                    itimers.add(new ProcessImage.ItimerImage((int) q[1], b.getLong(o), b.getLong(o + 8), b.getLong(o + 16),
                            b.getLong(o + 24)));
                } else if (q[2] == 3) {
                    posixTimers.add(TimerCapture.image(timerEntries.get((int) q[3]), b, o));
                }
            }
        } finally {
            try {
                if (code != 0) {
                    // no thread may be left running the code when it goes
                    for (SyscallInjector inj : injs) {
                        try {
                            inj.settle();
                        } catch (RuntimeException e) {
                            // that thread is gone; closing says so
                        }
                    }
                    injs.get(tids.indexOf(pid)).unmapBatchCode(code);
                }
            } finally {
                SyscallInjector.closeAll(injs);
            }
        }
        t.enter(CaptureTimings.Phase.REGS);
        for (int i = 0; i < n; i++) {
            int tid = tids.get(i);
            long orig = regs[i].origRax();
            long rax = regs[i].rax();
            boolean interrupted = orig >= 0 && (rax == -Errno.ERESTARTSYS || rax == -Errno.ERESTARTNOINTR
                    || rax == -Errno.ERESTARTNOHAND || rax == -Errno.ERESTART_RESTARTBLOCK);
            Regs saved = regs[i].withSyscallRestart(-Errno.EINTR);
            long[] robust = Linux.robustList(tid);
            threads.add(new ThreadImage(tid, ProcFs.taskComm(pid, tid), ThreadImage.namedRegs(saved.bytes()),
                    Base64.getEncoder().encodeToString(xstate[i]), masks[i], siginfos(Ptrace.peekSiginfo(tid, false)),
                    rseq(tid), robust[0], robust[1], tidAddress[i],
                    interrupted ? orig : -1, altStacks[i]));
        }
        List<SiginfoImage> shared = siginfos(Ptrace.peekSiginfo(pid, true));
        t.enter(CaptureTimings.Phase.PROC);

        MmImage mm = new MmImage(stat.startCode(), stat.endCode(), stat.startData(), stat.endData(), stat.startBrk(),
                brk, stat.startStack(), stat.argStart(), stat.argEnd(), stat.envStart(), stat.envEnd());
        List<Rlimit> rlimits = new ArrayList<>();
        ProcFs.limits(pid).forEach((k, v) -> rlimits.add(new Rlimit(k, v[0], v[1])));
        return new ProcessImage(pid, stat.ppid(), stat.pgrp(), stat.session(), ProcFs.comm(pid),
                String.valueOf(stateBefore), ProcFs.link(pid, "exe").orElse(""), ProcFs.link(pid, "cwd").orElse("/"),
                ProcFs.link(pid, "root").orElse("/"), Integer.parseInt(status.getOrDefault("Umask", "0022"), 8),
                credentials(status), rlimits, ProcFs.personality(pid), mm,
                Base64.getEncoder().encodeToString(ProcFs.readBytes(pid, "auxv")), sigactions, shared, threads,
                regions, fds, children, itimers, posixTimers, TimerCapture.clocks(pid));
    }

    /** Checks an injected call's result; returns brk's answer when it was brk, else {@code brk}. */
    private static long checked(int pid, long[] c, long res, long brk) {
        if (c[0] == SYS_BRK) {
            return res;
        }
        if (res < 0 && res > -4096) {
            throw new NativeException(callName(c), (int) -res, "injected in pid " + pid);
        }
        return brk;
    }

    private static String callName(long[] c) {
        return switch ((int) c[0]) {
            case SYS_PRCTL -> "prctl(PR_GET_TID_ADDRESS)";
            case SYS_SIGALTSTACK -> "sigaltstack";
            case SYS_RT_SIGACTION -> "rt_sigaction(" + c[1] + ")";
            case SYS_GETITIMER -> "getitimer(" + c[1] + ")";
            case SYS_TIMER_GETTIME -> "timer_gettime(" + c[1] + ")";
            default -> "syscall " + c[0];
        };
    }

    private static ThreadImage.RseqImage rseq(int tid) {
        try {
            Ptrace.RseqConfig c = Ptrace.rseqConfiguration(tid);
            return new ThreadImage.RseqImage(c.pointer(), c.size(), c.signature() & 0xffffffffL, c.flags());
        } catch (NativeException e) {
            return new ThreadImage.RseqImage(0, 0, 0, 0);
        }
    }

    private static List<SiginfoImage> siginfos(List<byte[]> raw) {
        List<SiginfoImage> out = new ArrayList<>();
        for (byte[] si : raw) {
            ByteBuffer b = ByteBuffer.wrap(si).order(ByteOrder.LITTLE_ENDIAN);
            out.add(new SiginfoImage(b.getInt(0), b.getInt(8), Base64.getEncoder().encodeToString(si)));
        }
        return out;
    }

    private static Credentials credentials(Map<String, String> s) {
        return new Credentials(ints(s.get("Uid")), ints(s.get("Gid")), ints(s.getOrDefault("Groups", "")),
                s.get("CapInh"), s.get("CapPrm"), s.get("CapEff"), s.get("CapBnd"), s.get("CapAmb"),
                "1".equals(s.get("NoNewPrivs")), Integer.parseInt(s.getOrDefault("Seccomp", "0")));
    }

    private static List<Integer> ints(String s) {
        if (s == null || s.isBlank()) {
            return List.of();
        }
        return Arrays.stream(s.trim().split("\\s+")).map(Integer::parseInt).toList();
    }
}
