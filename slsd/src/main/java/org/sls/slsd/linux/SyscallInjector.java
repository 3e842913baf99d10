package org.sls.slsd.linux;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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
 * Many calls can also run as one batch, a stop for them all: a few bytes of code, written over the
 * start of the process's [vdso] while every thread is stopped (or, without one, in a page mapped for
 * the occasion; see {@link #mapBatchCode}), run a table of calls and end on an int3 (see
 * {@link #startBatch}).
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
    /**
     * The batch code, position-independent x86-64: runs the table of calls rbx points at, one
     * 64-byte entry each {nr, a1..a6, result}, until an entry whose nr is negative, then stops on an
     * int3. The stop is one SIGTRAP for the whole table, as single-stepping gives one per call.
     * <pre>
     * 0:  mov rax,[rbx]; test rax,rax; js 2c
     * 8:  mov rdi,[rbx+8]; mov rsi,[rbx+16]; mov rdx,[rbx+24]; mov r10,[rbx+32]; mov r8,[rbx+40]; mov r9,[rbx+48]
     * 20: syscall; mov [rbx+56],rax; add rbx,64; jmp 0
     * 2c: int3
     * </pre>
     */
    private static final byte[] BATCH_CODE = bytes(
            0x48, 0x8b, 0x03, 0x48, 0x85, 0xc0, 0x78, 0x24,
            0x48, 0x8b, 0x7b, 0x08, 0x48, 0x8b, 0x73, 0x10, 0x48, 0x8b, 0x53, 0x18,
            0x4c, 0x8b, 0x53, 0x20, 0x4c, 0x8b, 0x43, 0x28, 0x4c, 0x8b, 0x4b, 0x30,
            0x0f, 0x05, 0x48, 0x89, 0x43, 0x38, 0x48, 0x83, 0xc3, 0x40, 0xeb, 0xd4,
            0xcc);
    /** Where a thread that ran its batch stands: right after the int3. */
    private static final int BATCH_END = 0x2d;
    private static final int BATCH_ENTRY = 64;
    private static final long BATCH_PAGE = 4096;

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
    /**
     * 0: stopped; 1: started, running to syscall-enter; 2: entered, running to syscall-exit; 3:
     * running a batch (see {@link #startBatch}).
     */
    private int inFlight;
    /** The batch running or last run: where its code is and where its table is. */
    private long batchCode;
    /** The [vdso] bytes the batch code was written over (null when it has a page of its own). */
    private byte[] batchCodeOriginal;
    private long batchTable;
    private int batchCalls;
    private long scratch;
    private byte[] scratchOriginal;
    private long scratchMapped;
    private boolean closed;
    private int calls;
    /** For the leader: whether its process has no other thread (null until first asked). */
    private Boolean leaderAlone;

    private SyscallInjector(int tgid, int tid, long gadget, long ignoredSignals, Regs regs, long sigmask) {
        this.tgid = tgid;
        this.tid = tid;
        this.gadget = gadget;
        this.saved = regs;
        this.savedMask = sigmask;
        this.stepping = (ignoredSignals & SIGTRAP_BIT) == 0;
        Ptrace.setSigmask(tid, stepping ? ALL_SIGNALS & ~SIGTRAP_BIT : ALL_SIGNALS);
    }

    /** Starts injecting into {@code tid} (of process {@code tgid}), which must be in an interrupt stop. */
    public static SyscallInjector begin(int tgid, int tid, long gadget) {
        return new SyscallInjector(tgid, tid, gadget, ignoredSignals(tgid), Ptrace.getRegs(tid), Ptrace.getSigmask(tid));
    }

    /**
     * As {@link #begin(int, int, long)}, given what the caller has read already: the signals the
     * process ignores ({@code SigIgn} of its /proc status, as a mask), and the thread's registers and
     * signal mask, read in this same stop (two ptrace calls a thread spared).
     */
    public static SyscallInjector begin(int tgid, int tid, long gadget, long ignoredSignals, Regs regs, long sigmask) {
        return new SyscallInjector(tgid, tid, gadget, ignoredSignals, regs.copy(), sigmask);
    }

    private static long ignoredSignals(int tgid) {
        String ign = ProcFs.status(tgid).get("SigIgn");
        return ign == null ? ALL_SIGNALS : Long.parseUnsignedLong(ign, 16);
    }

    /** The registers the thread had when injection began (unchanged by the kernel's restart fix-up). */
    public Regs savedRegs() { return saved.copy(); }

    public long savedSigmask() { return savedMask; }

    public int calls() { return calls; }

    private static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = (byte) v[i];
        }
        return b;
    }

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
     * thread stands right after it.
     */
    private long awaitStepped() {
        return awaitTrapAt(gadget + 2, true);
    }

    /**
     * Waits for the SIGTRAP that leaves the thread at {@code at} (after a single-stepped call, or
     * after the int3 ending a batch) and returns rax. Any other stop (an unblockable signal, or a
     * SIGTRAP sent by someone before the call ran) is deferred and the thread resumed the same way
     * ({@code step}: single-stepping; else running on): the kernel reports a pending SIGTRAP,
     * synchronous, before the thread could execute anything past the trap.
     */
    private long awaitTrapAt(long at, boolean step) {
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
                    if (now.rip() == at) {
                        return now.rax();
                    }
                } else {
                    deferredSignals.add(sig);
                    log.debug("tid {}: signal {} arrived during injection, deferred", tid, sig);
                }
            }
            if (step) {
                Ptrace.singlestep(tid, 0);
            } else {
                Ptrace.cont(tid, 0);
            }
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

    /** Scratch bytes a batch of {@code calls} calls needs for its table (see {@link #startBatch}). */
    public static int batchTableBytes(int calls) {
        return (calls + 1) * BATCH_ENTRY;
    }

    /**
     * Puts the batch code into the process, through this thread (stopped), and returns its address;
     * 0 when calls cannot be batched: in a process that ignores SIGTRAP (the batch's int3 would reset
     * the disposition, as a single step would). The code is written over the first bytes of the
     * process's [vdso] (through /proc/PID/mem, which copies that page for the process on write, as a
     * debugger's breakpoint does), whose original bytes {@link #unmapBatchCode} puts back: no call,
     * so no stop and no wait for the mmap lock, which the memory scan holds meanwhile. Without a
     * [vdso] (or where that write is refused) a page is mapped by an injected mmap instead, and none
     * where the process may not map executable memory (memory-deny-write-execute, an LSM): its calls
     * then go one at a time. Either way the code must be {@link #unmapBatchCode taken out} before the
     * threads are let go, and only once no thread runs it; until then no thread of the process may
     * run but those this class drives (the [vdso]'s own code is overwritten).
     */
    public long mapBatchCode(List<Vma> vmas) {
        if (!stepping) {
            return 0;
        }
        long at = vdsoSlot(vmas);
        if (at != 0) {
            byte[] original = Linux.readMem(tgid, at, BATCH_CODE.length);
            try {
                Linux.writeMem(tgid, at, BATCH_CODE);
                batchCodeOriginal = original;
                return at;
            } catch (RuntimeException e) {
                log.debug("pid {}: batch code not written over the [vdso] ({}): a page is mapped for it", tgid,
                        e.getMessage());
                Linux.writeMem(tgid, at, original); // in case part of it went through
            }
        }
        long m = call(SYS_MMAP, 0, BATCH_PAGE, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m < 0 && m > -4096) {
            log.debug("pid {}: no executable page for batched calls (errno {}): one call at a time", tgid, -m);
            return 0;
        }
        try {
            Linux.writeMem(tgid, m, BATCH_CODE); // /proc/PID/mem writes where the page's protection does not let
        } catch (RuntimeException e) {
            call(SYS_MUNMAP, m, BATCH_PAGE, 0, 0, 0, 0);
            throw e;
        }
        return m;
    }

    /**
     * Where in the [vdso] the batch code goes: its first bytes (the ELF header, which no thread runs
     * and none reads while all are stopped), or the next 64 past the gadget if that lies there; 0
     * without a [vdso].
     */
    private long vdsoSlot(List<Vma> vmas) {
        for (Vma v : vmas) {
            if (v.path().equals("[vdso]")) {
                for (long at = v.start(); at + BATCH_CODE.length <= Math.min(v.end(), v.start() + BATCH_PAGE); at += 64) {
                    if (gadget + 2 <= at || gadget >= at + BATCH_CODE.length) {
                        return at;
                    }
                }
            }
        }
        return 0;
    }

    /** Takes out what {@link #mapBatchCode} put in: the [vdso]'s bytes back, or the page unmapped through this thread. */
    public void unmapBatchCode(long code) {
        if (batchCodeOriginal != null) {
            Linux.writeMem(tgid, code, batchCodeOriginal);
            batchCodeOriginal = null;
        } else {
            callOrThrow("munmap", SYS_MUNMAP, code, BATCH_PAGE);
        }
    }

    /**
     * Starts running {@code calls} ({nr, a1, ... a6} each, missing arguments 0) in this thread
     * through the batch code at {@code code}: their table is written at {@code table}, scratch of
     * {@link #batchTableBytes} bytes, and the thread runs them all before it stops once.
     * {@link #batchResults()} waits for that stop.
     */
    public void startBatch(long code, long table, List<long[]> calls) {
        ByteBuffer b = ByteBuffer.allocate(batchTableBytes(calls.size())).order(ByteOrder.LITTLE_ENDIAN);
        for (long[] c : calls) {
            for (int k = 0; k < 7; k++) {
                b.putLong(k < c.length ? c[k] : 0);
            }
            b.putLong(0);
        }
        b.putLong(-1);
        Linux.poke(tgid, table, b.array());
        Regs r = saved.copy();
        r.set(Regs.RIP, code).set(Regs.RBX, table).set(Regs.ORIG_RAX, -1);
        Ptrace.setRegs(tid, r);
        Ptrace.cont(tid, 0);
        inFlight = 3;
        batchCode = code;
        batchTable = table;
        batchCalls = calls.size();
    }

    /** Waits for the batch {@link #startBatch} started; returns each call's raw result, in order. */
    public long[] batchResults() {
        if (inFlight != 3) {
            throw new IllegalStateException("tid " + tid + ": no batch running");
        }
        awaitTrapAt(batchCode + BATCH_END, false);
        inFlight = 0;
        atSyscallExit = true;
        calls += batchCalls;
        ByteBuffer t = ByteBuffer.wrap(Linux.peek(tgid, batchTable, batchCalls * BATCH_ENTRY))
                .order(ByteOrder.LITTLE_ENDIAN);
        long[] out = new long[batchCalls];
        for (int i = 0; i < batchCalls; i++) {
            out[i] = t.getLong(i * BATCH_ENTRY + 56);
        }
        return out;
    }

    /**
     * Runs each thread's own list of calls as one batch, all threads at once: {@code calls.get(i)}
     * in {@code injectors.get(i)} with its table at {@code tables[i]}. Returns the results per thread.
     */
    public static long[][] batchAll(List<SyscallInjector> injectors, long code, long[] tables, List<List<long[]>> calls) {
        for (int i = 0; i < injectors.size(); i++) {
            injectors.get(i).startBatch(code, tables[i], calls.get(i));
        }
        long[][] out = new long[injectors.size()][];
        for (int i = 0; i < injectors.size(); i++) {
            out[i] = injectors.get(i).batchResults();
        }
        return out;
    }

    /** Lets a call or batch left running (another thread's failure interrupted it) finish. */
    public void settle() {
        if (closed) {
            return;
        }
        if (inFlight == 3) {
            batchResults();
        }
        if (inFlight == 1) {
            enter();
        }
        if (inFlight == 2) {
            result();
        }
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
        try {
            return Ptrace.pollReport(tgid, tid, 25_000, 10_000, Long.MAX_VALUE);
        } catch (ProcFs.NoSuchProcessException e) {
            closed = true;
            throw e;
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
        settle();
        closed = true;
        if (scratch != 0) {
            if (scratchMapped != 0) {
                call(SYS_MUNMAP, scratch, scratchMapped, 0, 0, 0, 0);
            } else {
                Linux.poke(tgid, scratch, scratchOriginal);
            }
        }
        if (atSyscallExit && !stepping) {
            // leave the syscall-exit stop for an interrupt stop inside get_signal(), where the
            // original registers (rax = -ERESTART*) get the kernel's normal restart treatment on
            // resume. A thread that single-stepped or ran a batch stands in the signal-delivery stop
            // of its SIGTRAP, inside get_signal() already: resumed with no signal, it finds none
            // left and the same restart treatment follows (arch_do_signal_or_restart), so it
            // stays there and saves a round trip.
            Ptrace.interrupt(tid);
            Ptrace.cont(tid, 0);
        }
        return true;
    }

    private void closeFinish() {
        if (atSyscallExit && !stepping) {
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
