package org.sls.slsd.linux;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

import static org.sls.slsd.linux.LinuxSyscalls.*;

/**
 * Runs system calls inside a stopped tracee thread: rip is pointed at a {@code syscall}
 * instruction (a "gadget" found in the target's [vdso]), then the thread single-steps over it
 * (PTRACE_SINGLESTEP: one stop, the SIGTRAP the kernel queues on the way out of the call) or, in a
 * process that ignores SIGTRAP (whose disposition that SIGTRAP would reset), runs to its
 * syscall-enter and syscall-exit stops (PTRACE_SYSCALL twice: two stops, so twice the scheduling
 * round trips). All signals but that SIGTRAP are blocked meanwhile so none is dequeued; a SIGSTOP
 * that still arrives, or a SIGTRAP someone else sent, is queued again at {@link #close()}.
 * {@code close()} brings the thread back into an interrupt stop with its
 * original registers and signal mask, so the kernel's own syscall-restart logic still applies when
 * the thread resumes, and restores any scratch memory it used.
 *
 * <p>Not thread-safe: use it from the thread that seized the tracee, one injector per thread at a time.
 */
public final class SyscallInjector implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SyscallInjector.class);
    private static final long ALL_SIGNALS = ~0L;
    private static final long SIGTRAP_BIT = 1L << (SIGTRAP - 1);
    /** si_code of a signal sent by a process (kill, tgkill, sigqueue...) rather than by the kernel. */
    private static final int SI_KERNEL_MIN = 1;

    private final int tgid;
    private final int tid;
    private final long gadget;
    private final Regs saved;
    private final long savedMask;
    /**
     * Calls single-step over the gadget. Not when the process ignores SIGTRAP: the kernel forces its
     * single-step SIGTRAP through, resetting an ignored (or blocked) SIGTRAP's disposition to SIG_DFL
     * (force_sig_info_to_task), which would change the target. A thread that blocks SIGTRAP itself
     * does step: during the calls its mask is the injector's, which lets SIGTRAP through.
     */
    private final boolean stepping;
    private final List<Integer> deferredSignals = new ArrayList<>();
    private boolean atSyscallExit;
    /** 0: stopped; 1: started, running to syscall-enter; 2: entered, running to syscall-exit. */
    private int inFlight;
    private long scratch;
    private byte[] scratchOriginal;
    private long scratchMapped;
    private boolean closed;
    private int calls;
    /** For the leader: whether its process has no other thread (null until first asked). */
    private Boolean leaderAlone;

    private SyscallInjector(int tgid, int tid, long gadget, long ignoredSignals) {
        this.tgid = tgid;
        this.tid = tid;
        this.gadget = gadget;
        this.saved = Ptrace.getRegs(tid);
        this.savedMask = Ptrace.getSigmask(tid);
        this.stepping = (ignoredSignals & SIGTRAP_BIT) == 0;
        Ptrace.setSigmask(tid, stepping ? ALL_SIGNALS & ~SIGTRAP_BIT : ALL_SIGNALS);
    }

    /** Starts injecting into {@code tid} (of process {@code tgid}), which must be in an interrupt stop. */
    public static SyscallInjector begin(int tgid, int tid, long gadget) {
        return begin(tgid, tid, gadget, ignoredSignals(tgid));
    }

    /**
     * As {@link #begin(int, int, long)}, given the signals the process ignores ({@code SigIgn} of
     * its /proc status, as a mask), which the caller has read already.
     */
    public static SyscallInjector begin(int tgid, int tid, long gadget, long ignoredSignals) {
        return new SyscallInjector(tgid, tid, gadget, ignoredSignals);
    }

    private static long ignoredSignals(int tgid) {
        String ign = ProcFs.status(tgid).get("SigIgn");
        return ign == null ? ALL_SIGNALS : Long.parseUnsignedLong(ign, 16);
    }

    /** The registers the thread had when injection began (unchanged by the kernel's restart fix-up). */
    public Regs savedRegs() { return saved.copy(); }

    public long savedSigmask() { return savedMask; }

    public int calls() { return calls; }

    /** Whether calls single-step over the gadget (one stop each) rather than stop twice. For tests. */
    boolean singleStepping() { return stepping; }

    /**
     * Finds a {@code syscall} instruction (0f 05) in the process's [vdso] (or, failing that, in any
     * executable mapping); its address serves as the injection gadget.
     */
    public static long findGadget(int pid, List<Vma> vmas) {
        List<Vma> candidates = new ArrayList<>();
        for (Vma v : vmas) {
            if (v.path().equals("[vdso]")) {
                candidates.add(0, v);
            } else if (v.executable() && v.readable() && !v.path().equals("[vsyscall]")) {
                candidates.add(v);
            }
        }
        for (Vma v : candidates) {
            int len = (int) Math.min(v.length(), 1 << 20);
            byte[] code = Linux.readMem(pid, v.start(), len);
            for (int i = 0; i + 1 < len; i++) {
                if (code[i] == 0x0f && code[i + 1] == 0x05) {
                    return v.start() + i;
                }
            }
        }
        throw new IllegalStateException("pid " + pid + ": no syscall instruction found to inject through");
    }

    /** Runs one system call; returns its raw result (a negative errno on failure). */
    public long call(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
        start(nr, a1, a2, a3, a4, a5, a6);
        enter();
        return result();
    }

    /**
     * First step of a call: loads it and lets the thread run towards its syscall-enter stop (or,
     * single-stepping, through the call).
     */
    public void start(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
        Regs r = saved.copy();
        r.set(Regs.RAX, nr).set(Regs.ORIG_RAX, -1).set(Regs.RIP, gadget)
                .set(Regs.RDI, a1).set(Regs.RSI, a2).set(Regs.RDX, a3).set(Regs.R10, a4).set(Regs.R8, a5).set(Regs.R9, a6);
        Ptrace.setRegs(tid, r);
        if (stepping) {
            Ptrace.singlestep(tid, 0);
            inFlight = 2;
        } else {
            Ptrace.syscall(tid, 0);
            inFlight = 1;
        }
    }

    /** Second step: waits for the syscall-enter stop and lets the call run (nothing when single-stepping). */
    public void enter() {
        if (inFlight != 1) {
            return;
        }
        awaitSyscallStop();
        Ptrace.syscall(tid, 0);
        inFlight = 2;
    }

    /** Last step: waits for the syscall-exit (or single-step) stop and returns the result. */
    public long result() {
        long rax = stepping ? awaitStepped() : awaitExit();
        inFlight = 0;
        atSyscallExit = true;
        calls++;
        return rax;
    }

    private long awaitExit() {
        awaitSyscallStop();
        return Ptrace.getRegs(tid).rax();
    }

    /**
     * Waits for the SIGTRAP that ends a single step over the gadget: the call has run when the
     * thread stands right after it. Any other stop (an unblockable signal, or a SIGTRAP sent by
     * someone before the call ran) is deferred and the step resumed: the kernel reports a pending
     * SIGTRAP, synchronous, before the thread could execute anything past the call.
     */
    private long awaitStepped() {
        while (true) {
            WaitStatus st = awaitReport();
            if (st.gone()) {
                closed = true;
                throw new ProcFs.NoSuchProcessException(tid, null);
            }
            if (st.signalDeliveryStop()) {
                int sig = st.stopSignal();
                if (sig == SIGTRAP) {
                    Regs now = Ptrace.getRegs(tid);
                    boolean sentByProcess = siCode(Ptrace.getSiginfo(tid)) < SI_KERNEL_MIN;
                    if (sentByProcess) {
                        // ours, if queued after it, merged into it (and one sent after ours merged into
                        // ours, as into any pending SIGTRAP: that one cannot be told apart)
                        deferredSignals.add(sig);
                    }
                    if (now.rip() == gadget + 2) {
                        return now.rax();
                    }
                } else {
                    deferredSignals.add(sig);
                    log.debug("tid {}: signal {} arrived during injection, deferred", tid, sig);
                }
            }
            Ptrace.singlestep(tid, 0);
        }
    }

    private static int siCode(byte[] siginfo) {
        return (siginfo[8] & 0xff) | (siginfo[9] & 0xff) << 8 | (siginfo[10] & 0xff) << 16 | siginfo[11] << 24;
    }

    /**
     * Runs the same call in several threads at once (each thread with its own arguments), stepping
     * them in lockstep so that their stops overlap: the cost is about that of one call.
     */
    public static long[] callAll(List<SyscallInjector> injectors, long nr, long[][] args) {
        for (int i = 0; i < injectors.size(); i++) {
            long[] a = java.util.Arrays.copyOf(args[i], 6);
            injectors.get(i).start(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        }
        for (SyscallInjector inj : injectors) {
            inj.enter();
        }
        long[] out = new long[injectors.size()];
        for (int i = 0; i < injectors.size(); i++) {
            out[i] = injectors.get(i).result();
        }
        return out;
    }

    /**
     * As {@link #callAll(List, long, long[][])} with a different call per thread: {@code calls.get(i)}
     * is {nr, a1, ... a6} (missing arguments are 0, extra elements ignored).
     */
    public static long[] callAll(List<SyscallInjector> injectors, List<long[]> calls) {
        for (int i = 0; i < injectors.size(); i++) {
            long[] c = java.util.Arrays.copyOf(calls.get(i), 7);
            injectors.get(i).start(c[0], c[1], c[2], c[3], c[4], c[5], c[6]);
        }
        for (SyscallInjector inj : injectors) {
            inj.enter();
        }
        long[] out = new long[injectors.size()];
        for (int i = 0; i < injectors.size(); i++) {
            out[i] = injectors.get(i).result();
        }
        return out;
    }

    /** Closes several injectors, overlapping their final stops; the first failure is rethrown. */
    public static void closeAll(List<SyscallInjector> injectors) {
        RuntimeException failure = null;
        List<SyscallInjector> started = new ArrayList<>();
        for (SyscallInjector inj : injectors) {
            try {
                if (inj.closeStart()) {
                    started.add(inj);
                }
            } catch (RuntimeException e) {
                failure = failure == null ? e : failure;
            }
        }
        for (SyscallInjector inj : started) {
            try {
                inj.closeFinish();
            } catch (RuntimeException e) {
                failure = failure == null ? e : failure;
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    public long call(long nr, long... args) {
        long[] a = java.util.Arrays.copyOf(args, 6);
        return call(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    }

    /** Like {@link #call} but throws {@link NativeException} naming the call for a negative result. */
    public long callOrThrow(String name, long nr, long... args) {
        long r = call(nr, args);
        if (r < 0 && r > -4096) {
            throw new NativeException(name, (int) -r, "injected in pid " + tgid + " tid " + tid);
        }
        return r;
    }

    private void awaitSyscallStop() {
        while (true) {
            WaitStatus st = awaitReport();
            if (st.gone()) {
                closed = true;
                throw new ProcFs.NoSuchProcessException(tid, null);
            }
            if (st.syscallStop()) {
                return;
            }
            if (st.signalDeliveryStop()) {
                // only unblockable signals get here; keep it for later and go on
                deferredSignals.add(st.stopSignal());
                log.debug("tid {}: signal {} arrived during injection, deferred", tid, st.stopSignal());
            }
            Ptrace.syscall(tid, 0);
        }
    }

    /**
     * Blocks until the thread reports a stop or its death. A thread-group leader killed meanwhile
     * (SIGKILL to a multi-threaded process) is reported only once its other threads have been
     * reaped, by slsd, their tracer, which is waiting here: a blocking wait would never return. So
     * the leader of a process with other threads is polled, and its zombie state ends the wait;
     * whoever thaws the tree reaps the threads, the others first.
     */
    private WaitStatus awaitReport() {
        if (tid != tgid) {
            return Ptrace.wait(tid);
        }
        if (leaderAlone == null) {
            try {
                leaderAlone = ProcFs.stat(tgid).numThreads() <= 1;
            } catch (ProcFs.NoSuchProcessException e) {
                leaderAlone = true; // reaped already: the wait reports it at once
            }
        }
        if (leaderAlone) {
            return Ptrace.wait(tid);
        }
        // a round trip takes about 18 us on an idle machine: spin that long, then sleep with growing
        // pauses (spinning longer burns the core a tracee of a 2-core machine needs to get there)
        long spinUntil = System.nanoTime() + 25_000;
        long pause = 0;
        while (true) {
            WaitStatus st = Ptrace.wait(tid, WNOHANG);
            if (st != null) {
                return st;
            }
            if (System.nanoTime() < spinUntil) {
                Thread.onSpinWait();
                continue;
            }
            if (ProcFs.taskExited(tgid, tid)) {
                closed = true;
                throw new ProcFs.NoSuchProcessException(tid, null);
            }
            pause = Math.min(Math.max(pause * 2, 10_000), 1_000_000);
            java.util.concurrent.locks.LockSupport.parkNanos(pause);
        }
    }

    /**
     * Scratch memory of {@code len} bytes in the target, below the thread's stack red zone when the
     * stack has room (original bytes are put back at close), else a page mapped by injection.
     */
    public long scratch(int len, List<Vma> vmas) {
        if (scratch != 0) {
            throw new IllegalStateException("scratch already taken");
        }
        long addr = (saved.rsp() - 1024 - len) & ~63L;
        for (Vma v : vmas) {
            if (v.start() <= addr && addr + len <= v.end() && v.writable() && v.readable() && !v.shared()) {
                scratchOriginal = Linux.peek(tgid, addr, len);
                scratch = addr;
                return addr;
            }
        }
        long size = (len + 4095) & ~4095L;
        long m = callOrThrow("mmap", SYS_MMAP, 0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        scratchMapped = size;
        scratch = m;
        return m;
    }

    /** Reads back scratch memory the injected calls wrote. */
    public byte[] readScratch(int len) {
        return Linux.peek(tgid, scratch, len);
    }

    /** Back to an interrupt stop with the original registers, mask and memory. Idempotent. */
    @Override
    public void close() {
        if (closeStart()) {
            closeFinish();
        }
    }

    /** First half of {@link #close()}: puts scratch memory back and heads for an interrupt stop. */
    private boolean closeStart() {
        if (closed) {
            return false;
        }
        // a call left running (another thread's failure interrupted callAll): let it finish first
        if (inFlight == 1) {
            enter();
        }
        if (inFlight == 2) {
            result();
        }
        closed = true;
        if (scratch != 0) {
            if (scratchMapped != 0) {
                call(SYS_MUNMAP, scratch, scratchMapped, 0, 0, 0, 0);
            } else {
                Linux.poke(tgid, scratch, scratchOriginal);
            }
        }
        if (atSyscallExit) {
            // leave the syscall-exit (or single-step SIGTRAP) stop for an interrupt stop inside
            // get_signal(), where the original registers (rax = -ERESTART*) get the kernel's normal
            // restart treatment on resume
            Ptrace.interrupt(tid);
            Ptrace.cont(tid, 0);
        }
        return true;
    }

    private void closeFinish() {
        if (atSyscallExit) {
            while (true) {
                WaitStatus st = awaitReport();
                if (st.gone()) {
                    throw new ProcFs.NoSuchProcessException(tid, null);
                }
                if (st.eventStop()) {
                    break;
                }
                if (st.signalDeliveryStop()) {
                    deferredSignals.add(st.stopSignal());
                }
                Ptrace.cont(tid, 0);
            }
        }
        Ptrace.setRegs(tid, saved);
        Ptrace.setSigmask(tid, savedMask);
        for (int sig : deferredSignals) {
            Linux.tgkill(tgid, tid, sig);
        }
    }
}
