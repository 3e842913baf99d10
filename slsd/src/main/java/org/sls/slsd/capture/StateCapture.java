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
        ProcStat stat = ProcFs.stat(pid);
        Map<String, String> status = ProcFs.status(pid);
        long gadget = SyscallInjector.findGadget(pid, vmas);
        // dispositions other than SIG_DFL: caught or ignored (SIGCHLD always, for its flags)
        long sigCgt = Long.parseUnsignedLong(status.get("SigCgt"), 16) | Long.parseUnsignedLong(status.get("SigIgn"), 16);

        List<ThreadImage> threads = new ArrayList<>();
        List<SigactionImage> sigactions = new ArrayList<>();
        List<ProcessImage.ItimerImage> itimers = new ArrayList<>();
        List<ProcFs.PosixTimerEntry> timerEntries = ProcFs.posixTimers(pid);
        List<PosixTimerImage> posixTimers = new ArrayList<>();
        int n = tids.size();
        Regs[] regs = new Regs[n];
        byte[][] xstate = new byte[n][];
        long[] masks = new long[n];
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
        long brk;
        long[] tidAddress = new long[n];
        ThreadImage.AltStack[] altStacks = new ThreadImage.AltStack[n];
        // the main thread's scratch: 64 bytes as every thread's, 3 itimervals, the sigactions, an itimerspec per timer
        int timersAt = 64 + 96 + sigs.size() * 32;
        int leaderLen = timersAt + timerEntries.size() * 32;
        // what only the process can tell, asked of all its threads at once (their stops overlap)
        List<SyscallInjector> injs = new ArrayList<>();
        try {
            long[] scratch = new long[n];
            int leader = tids.indexOf(pid);
            for (int i = 0; i < n; i++) {
                SyscallInjector inj = SyscallInjector.begin(pid, tids.get(i), gadget);
                injs.add(inj);
                scratch[i] = inj.scratch(i == leader ? leaderLen : 64, vmas);
            }
            long[][] args = new long[n][];
            for (int i = 0; i < n; i++) {
                args[i] = new long[] {PR_GET_TID_ADDRESS, scratch[i]};
            }
            check(SyscallInjector.callAll(injs, SYS_PRCTL, args), "prctl(PR_GET_TID_ADDRESS)", pid);
            for (int i = 0; i < n; i++) {
                args[i] = new long[] {0, scratch[i] + 8};
            }
            check(SyscallInjector.callAll(injs, SYS_SIGALTSTACK, args), "sigaltstack", pid);
            SyscallInjector lead = injs.get(leader);
            brk = lead.callOrThrow("brk", SYS_BRK, 0);
            for (int k = 0; k < sigs.size(); k++) {
                lead.callOrThrow("rt_sigaction(" + sigs.get(k) + ")", SYS_RT_SIGACTION, sigs.get(k), 0,
                        scratch[leader] + 96 + 64 + k * 32L, 8);
            }
            for (int which = 0; which < 3; which++) {
                lead.callOrThrow("getitimer(" + which + ")", SYS_GETITIMER, which, scratch[leader] + 64 + which * 32L);
            }
            for (int k = 0; k < timerEntries.size(); k++) {
                int id = timerEntries.get(k).id();
                lead.callOrThrow("timer_gettime(" + id + ")", SYS_TIMER_GETTIME, id, scratch[leader] + timersAt + k * 32L);
            }
            if (onLeaderInjection != null) {
                onLeaderInjection.accept(lead);
            }
            for (int i = 0; i < n; i++) {
                int len = i == leader ? leaderLen : 64;
                ByteBuffer b = ByteBuffer.wrap(injs.get(i).readScratch(len)).order(ByteOrder.LITTLE_ENDIAN);
                tidAddress[i] = b.getLong(0);
                altStacks[i] = new ThreadImage.AltStack(b.getLong(8), b.getInt(16), b.getLong(24));
                if (i == leader) {
                    for (int which = 0; which < 3; which++) {
                        int o = 64 + which * 32;
                        itimers.add(new ProcessImage.ItimerImage(which, b.getLong(o), b.getLong(o + 8), b.getLong(o + 16),
                                b.getLong(o + 24)));
                    }
                    for (int k = 0; k < sigs.size(); k++) {
                        int o = 96 + 64 + k * 32;
                        sigactions.add(new SigactionImage(sigs.get(k), b.getLong(o), b.getLong(o + 8), b.getLong(o + 16),
                                b.getLong(o + 24)));
                    }
                    for (int k = 0; k < timerEntries.size(); k++) {
                        posixTimers.add(TimerCapture.image(timerEntries.get(k), b, timersAt + k * 32));
                    }
                }
            }
        } finally {
            SyscallInjector.closeAll(injs);
        }
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

    private static void check(long[] results, String call, int pid) {
        for (long r : results) {
            if (r < 0 && r > -4096) {
                throw new NativeException(call, (int) -r, "injected in pid " + pid);
            }
        }
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
