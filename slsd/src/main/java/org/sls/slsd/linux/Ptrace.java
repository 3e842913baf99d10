package org.sls.slsd.linux;

import jnr.ffi.Pointer;

import java.util.ArrayList;
import java.util.List;

import static org.sls.slsd.linux.LinuxSyscalls.*;

/**
 * Facade over ptrace(2) and wait4(2) for tracees. Stateless, but the kernel ties a tracee to the
 * <em>thread</em> that attached it: every call for one tracee must come from the Java thread that
 * seized it (use one dedicated executor thread per tracee group). Failures throw
 * {@link NativeException} such as {@code ptrace(PTRACE_SEIZE, 4242): EPERM (Operation not permitted)}.
 */
public final class Ptrace {
    /** Size of the buffer used to read NT_X86_XSTATE; the kernel reports the real size back. */
    private static final int XSTATE_MAX = 64 * 1024;
    private static final ThreadLocal<Pointer> SCRATCH = ThreadLocal.withInitial(() -> Sys.alloc(XSTATE_MAX + 4096));
    private static volatile int xstateSize = -1;

    private Ptrace() {}

    private static long ptrace(String name, long req, int tid, long addr, long data) {
        return Sys.call("ptrace", name + ", " + tid, SYS_PTRACE, req, tid, addr, data, 0, 0);
    }

    /** PTRACE_SEIZE with the given PTRACE_O_* options (does not stop the tracee). */
    public static void seize(int tid, long options) { ptrace("PTRACE_SEIZE", PTRACE_SEIZE, tid, 0, options); }
    public static void interrupt(int tid) { ptrace("PTRACE_INTERRUPT", PTRACE_INTERRUPT, tid, 0, 0); }
    public static void cont(int tid, int sig) { ptrace("PTRACE_CONT", PTRACE_CONT, tid, 0, sig); }
    public static void syscall(int tid, int sig) { ptrace("PTRACE_SYSCALL", PTRACE_SYSCALL, tid, 0, sig); }
    public static void singlestep(int tid, int sig) { ptrace("PTRACE_SINGLESTEP", PTRACE_SINGLESTEP, tid, 0, sig); }
    public static void listen(int tid) { ptrace("PTRACE_LISTEN", PTRACE_LISTEN, tid, 0, 0); }
    public static void setOptions(int tid, long options) { ptrace("PTRACE_SETOPTIONS", PTRACE_SETOPTIONS, tid, 0, options); }

    /** PTRACE_DETACH; returns false when the tracee is already gone (ESRCH). */
    public static boolean detach(int tid, int sig) {
        long r = Sys.raw(SYS_PTRACE, PTRACE_DETACH, tid, 0, sig, 0, 0);
        if (r == -Errno.ESRCH) {
            return false;
        }
        if (r < 0) {
            throw new NativeException("ptrace", (int) -r, "PTRACE_DETACH, " + tid);
        }
        return true;
    }

    public static long eventMsg(int tid) {
        Pointer p = SCRATCH.get();
        ptrace("PTRACE_GETEVENTMSG", PTRACE_GETEVENTMSG, tid, 0, p.address());
        return p.getLong(0);
    }

    private static byte[] getRegset(int tid, long type, String name, int max) {
        Pointer p = SCRATCH.get();
        long iov = p.address();
        long buf = iov + 64;
        p.putLong(0, buf);
        p.putLong(8, max);
        ptrace("PTRACE_GETREGSET " + name, PTRACE_GETREGSET, tid, type, iov);
        int len = (int) p.getLong(8);
        byte[] out = new byte[len];
        p.get(64, out, 0, len);
        return out;
    }

    private static void setRegset(int tid, long type, String name, byte[] data) {
        Pointer p = SCRATCH.get();
        long iov = p.address();
        p.putLong(0, iov + 64);
        p.putLong(8, data.length);
        p.put(64, data, 0, data.length);
        ptrace("PTRACE_SETREGSET " + name, PTRACE_SETREGSET, tid, type, iov);
    }

    public static Regs getRegs(int tid) { return new Regs(getRegset(tid, NT_PRSTATUS, "NT_PRSTATUS", Regs.SIZE)); }
    public static void setRegs(int tid, Regs regs) { setRegset(tid, NT_PRSTATUS, "NT_PRSTATUS", regs.bytes()); }

    /**
     * NT_X86_XSTATE, read with a buffer far larger than any XSAVE area so it is never cut short;
     * the kernel reports the real size (XCR0-dependent, 832 bytes on the development machines).
     */
    public static byte[] getXState(int tid) {
        byte[] x = getRegset(tid, NT_X86_XSTATE, "NT_X86_XSTATE", XSTATE_MAX);
        xstateSize = x.length;
        return x;
    }

    public static void setXState(int tid, byte[] xstate) { setRegset(tid, NT_X86_XSTATE, "NT_X86_XSTATE", xstate); }

    /** XSAVE area size seen by the last {@link #getXState}, -1 before any. */
    public static int xstateSize() { return xstateSize; }

    public static long getSigmask(int tid) {
        Pointer p = SCRATCH.get();
        ptrace("PTRACE_GETSIGMASK", PTRACE_GETSIGMASK, tid, 8, p.address());
        return p.getLong(0);
    }

    public static void setSigmask(int tid, long mask) {
        Pointer p = SCRATCH.get();
        p.putLong(0, mask);
        ptrace("PTRACE_SETSIGMASK", PTRACE_SETSIGMASK, tid, 8, p.address());
    }

    /** The 128-byte siginfo of the signal that caused the current signal-delivery stop. */
    public static byte[] getSiginfo(int tid) {
        Pointer p = SCRATCH.get();
        ptrace("PTRACE_GETSIGINFO", PTRACE_GETSIGINFO, tid, 0, p.address());
        byte[] out = new byte[128];
        p.get(0, out, 0, 128);
        return out;
    }

    /** Pending signals (128-byte siginfo each) of the thread's private queue or the shared one. */
    public static List<byte[]> peekSiginfo(int tid, boolean shared) {
        Pointer p = SCRATCH.get();
        List<byte[]> out = new ArrayList<>();
        long off = 0;
        while (true) {
            // struct ptrace_peeksiginfo_args { u64 off; u32 flags; s32 nr; } then the buffer
            p.putLong(0, off);
            p.putInt(8, shared ? PTRACE_PEEKSIGINFO_SHARED : 0);
            p.putInt(12, 32);
            long n = ptrace("PTRACE_PEEKSIGINFO", PTRACE_PEEKSIGINFO, tid, p.address(), p.address() + 64);
            for (int i = 0; i < n; i++) {
                byte[] si = new byte[128];
                p.get(64 + i * 128L, si, 0, 128);
                out.add(si);
            }
            if (n < 32) {
                return out;
            }
            off += n;
        }
    }

    /** rseq registration of a thread (PTRACE_GET_RSEQ_CONFIGURATION, 0x420f). */
    public static RseqConfig rseqConfiguration(int tid) {
        Pointer p = SCRATCH.get();
        ptrace("PTRACE_GET_RSEQ_CONFIGURATION", PTRACE_GET_RSEQ_CONFIGURATION, tid, 24, p.address());
        return new RseqConfig(p.getLong(0), p.getInt(8), p.getInt(12), p.getInt(16));
    }

    /** rseq registration: abi pointer 0 when the thread has none. */
    public record RseqConfig(long pointer, int size, int signature, int flags) {}

    /**
     * The next pause, in ns, between two WNOHANG waits for a tracee's stop: {@code pause} doubled,
     * at least {@code floor}, and at most a tenth of a millisecond for the first 20 ms of waiting
     * ({@code waitedNanos}), a millisecond after. A running thread stops within microseconds, one
     * waiting for a core when it gets one: on a busy machine a longer pause overslept the stop by
     * as much, the whole process frozen meanwhile; a thread that is stuck is looked at less often.
     */
    public static long nextPause(long pause, long floor, long waitedNanos) {
        return Math.min(Math.max(pause * 2, floor), waitedNanos < 20_000_000 ? 100_000 : 1_000_000);
    }

    /**
     * Waits for the next report (a stop, or the death) of thread {@code tid} of process
     * {@code tgid}, polling wait4 with WNOHANG: busily for {@code spinNanos}, then with pauses
     * from {@code floorNanos} growing as {@link #nextPause} says. Returns null once
     * {@code deadline} ({@link System#nanoTime}; {@link Long#MAX_VALUE} for none) has passed.
     * A thread-group leader killed while other threads of its process live is reported only once
     * those have been reaped, by slsd, their tracer, which may be the one waiting here: so whether
     * the leader has exited is read from /proc once a millisecond, and its death ends the wait with
     * {@link ProcFs.NoSuchProcessException}. Whoever thaws the process reaps the threads, the
     * others first.
     */
    public static WaitStatus pollReport(int tgid, int tid, long spinNanos, long floorNanos, long deadline) {
        long now = System.nanoTime();
        long start = now;
        long spinUntil = now + spinNanos;
        long exitCheck = now + 1_000_000;
        long pause = 0;
        while (true) {
            WaitStatus st = wait(tid, WNOHANG);
            if (st != null) {
                return st;
            }
            now = System.nanoTime();
            if (deadline != Long.MAX_VALUE && now - deadline > 0) {
                return null;
            }
            if (now - spinUntil < 0) {
                Thread.onSpinWait();
                continue;
            }
            if (tid == tgid && now - exitCheck >= 0) {
                if (ProcFs.taskExited(tgid, tid)) {
                    throw new ProcFs.NoSuchProcessException(tgid, null);
                }
                exitCheck = now + 1_000_000;
            }
            pause = nextPause(pause, floorNanos, now - start);
            java.util.concurrent.locks.LockSupport.parkNanos(pause);
        }
    }

    /** wait4(tid, __WALL | extra); null with WNOHANG when nothing happened. */
    public static WaitStatus wait(int tid, int extraOptions) {
        Pointer p = SCRATCH.get();
        while (true) {
            long r = Sys.raw(SYS_WAIT4, tid, p.address(), __WALL | extraOptions, 0, 0, 0);
            if (r == -Errno.EINTR) {
                continue;
            }
            if (r < 0) {
                throw new NativeException("wait4", (int) -r, String.valueOf(tid));
            }
            if (r == 0) {
                return null;
            }
            return new WaitStatus((int) r, p.getInt(0));
        }
    }

    /**
     * Consumes what a tracee that died while traced still reports to its tracer. A traced process
     * that exits is reported to the tracer first, and only once the tracer has waited for it can
     * its real parent reap it: without this its zombie would keep its pid for as long as slsd runs.
     * Call it for a tracee that could not be detached: a stopped tracee fails to detach only when
     * it is dying, so this waits up to {@code timeoutMillis} for the death to be reported. Returns
     * true when the tracee is gone.
     */
    public static boolean reapIfGone(int tid, long timeoutMillis) {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        try {
            while (true) {
                WaitStatus st = wait(tid, WNOHANG);
                if (st != null && st.gone()) {
                    return true;
                }
                if (st == null) {
                    if (System.nanoTime() > deadline) {
                        return false;
                    }
                    Thread.onSpinWait();
                    Thread.sleep(1);
                }
            }
        } catch (NativeException e) {
            return e.errno() == Errno.ECHILD; // already consumed, or no longer ours to wait for
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Blocks until tid reports something. */
    public static WaitStatus wait(int tid) { return wait(tid, 0); }
}
