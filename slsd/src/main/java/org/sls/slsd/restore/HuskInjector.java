package org.sls.slsd.restore;

import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.NativeException;
import org.sls.slsd.linux.Ptrace;
import org.sls.slsd.linux.Regs;
import org.sls.slsd.linux.WaitStatus;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Runs system calls inside one stopped husk thread. Unlike the checkpoint side's injector it owes
 * the thread nothing: a husk's registers are thrown away, so each call simply points rip at the
 * scratch {@code syscall} and runs to the syscall-exit stop (PTRACE_SYSCALL twice, DESIGN
 * section 9). Arguments that live in memory are put into the scratch data area first
 * ({@link #data}). Stops that are not ours (fork/clone events during an injected clone3, stray
 * signals: husks block all of them) are stepped over without delivering anything.
 *
 * <p>Not thread-safe: only the thread that traces the husk may use it.
 */
final class HuskInjector {
    private static final long ENOSYS_AT_ENTRY = -38;
    private static final ThreadLocal<ByteBuffer> STAGE = ThreadLocal.withInitial(
            () -> ByteBuffer.allocateDirect((int) Scratch.SIZE));

    private final int tgid;
    private final int tid;
    private final Regs base;
    private final Timings timings;
    private Scratch scratch;
    private long dataUsed;

    /** {@code tid} (of process {@code tgid}) must be in a ptrace stop. */
    HuskInjector(int tgid, int tid, Timings timings) {
        this.tgid = tgid;
        this.tid = tid;
        this.base = Ptrace.getRegs(tid);
        this.timings = timings;
    }

    int tgid() { return tgid; }
    int tid() { return tid; }

    /** The registers the thread had when it was first stopped (segment selectors, eflags). */
    Regs baseRegs() { return base.copy(); }

    void useScratch(Scratch s) { this.scratch = s; }

    /**
     * Copies {@code bytes} into the scratch data area and returns their address in the husk. The
     * area is handed out from its start again after each {@link #call}.
     */
    long data(byte[] bytes) {
        long len = (bytes.length + 15) & ~15L;
        if (dataUsed + len > scratch.dataSize()) {
            throw new IllegalStateException("scratch data area of " + scratch.dataSize() + " bytes is too small for "
                    + bytes.length + " more bytes");
        }
        long addr = scratch.data() + dataUsed;
        ByteBuffer b = STAGE.get();
        b.clear();
        b.put(bytes).flip();
        Linux.processVmWrite(tgid, b, addr);
        dataUsed += len;
        return addr;
    }

    /** Runs a syscall through the scratch instruction; returns the raw result (-errno on failure). */
    long raw(long nr, long... args) {
        return rawAt(scratch.code(), nr, args);
    }

    /** Runs a syscall through a {@code syscall} instruction at {@code gadget}. */
    long rawAt(long gadget, long nr, long... args) {
        long[] a = Arrays.copyOf(args, 6);
        long t0 = System.nanoTime();
        Regs r = base.copy();
        r.set(Regs.RAX, nr).set(Regs.ORIG_RAX, -1).set(Regs.RIP, gadget)
                .set(Regs.RDI, a[0]).set(Regs.RSI, a[1]).set(Regs.RDX, a[2]).set(Regs.R10, a[3])
                .set(Regs.R8, a[4]).set(Regs.R9, a[5]);
        for (int attempt = 0; ; attempt++) {
            Ptrace.setRegs(tid, r);
            toSyscallStop();
            Regs entry = Ptrace.getRegs(tid);
            if (entry.rax() == ENOSYS_AT_ENTRY && entry.origRax() == nr) {
                break;
            }
            // a thread stopped inside a syscall (the template in execve) first reports that syscall's
            // exit; from there the next resume runs our instruction
            if (attempt > 0) {
                throw new IllegalStateException("tid " + tid + ": expected the entry of syscall " + nr
                        + ", stopped at " + entry);
            }
        }
        toSyscallStop();
        long result = Ptrace.getRegs(tid).rax();
        dataUsed = 0;
        timings.injectNanos.addAndGet(System.nanoTime() - t0);
        timings.injectedCalls.incrementAndGet();
        return result;
    }

    /** Like {@link #raw} but a failure throws {@code NativeException(name, errno, "pid P")}. */
    long call(String name, long nr, long... args) {
        long r = raw(nr, args);
        if (r < 0 && r > -4096) {
            throw new NativeException(name, (int) -r, "in pid " + tgid + (tid != tgid ? " tid " + tid : ""));
        }
        return r;
    }

    private void toSyscallStop() {
        Ptrace.syscall(tid, 0);
        while (true) {
            WaitStatus st = Ptrace.wait(tid);
            if (st.gone()) {
                throw new HuskGoneException(tid, st.toString());
            }
            if (st.syscallStop()) {
                return;
            }
            Ptrace.syscall(tid, 0);
        }
    }

    /** The husk died under the injector (killed, or crashed on a bad injection). */
    static final class HuskGoneException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        HuskGoneException(int tid, String status) {
            super("husk tid " + tid + " is gone: " + status);
        }
    }
}
