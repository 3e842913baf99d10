package org.sls.slsd.linux;

import jnr.ffi.Pointer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.sls.slsd.linux.LinuxSyscalls.*;

/**
 * Facade over the plain system calls slsd makes on its own behalf or on other processes:
 * signals, pidfds, process_vm_readv/writev, /proc/PID/mem, ioctl, robust lists. Stateless and
 * thread-safe. Failures throw {@link NativeException}.
 */
public final class Linux {
    public static final int PAGE_SIZE = 4096;
    private static final ThreadLocal<Pointer> SCRATCH = ThreadLocal.withInitial(() -> Sys.alloc(4096));

    private Linux() {}

    public static int getpid() { return (int) Sys.raw(SYS_GETPID, 0, 0, 0, 0, 0, 0); }
    public static int gettid() { return (int) Sys.raw(SYS_GETTID, 0, 0, 0, 0, 0, 0); }
    public static int getuid() { return (int) Sys.raw(SYS_GETUID, 0, 0, 0, 0, 0, 0); }

    public static void kill(int pid, int sig) { Sys.call("kill", pid + ", " + sig, SYS_KILL, pid, sig, 0); }

    /** kill(2) that reports whether the process existed instead of throwing ESRCH. */
    public static boolean killIfAlive(int pid, int sig) {
        long r = Sys.raw(SYS_KILL, pid, sig, 0, 0, 0, 0);
        if (r == -Errno.ESRCH) {
            return false;
        }
        if (r < 0) {
            throw new NativeException("kill", (int) -r, pid + ", " + sig);
        }
        return true;
    }

    public static void tgkill(int tgid, int tid, int sig) {
        Sys.call("tgkill", tgid + ", " + tid + ", " + sig, SYS_TGKILL, tgid, tid, sig);
    }

    public static int pidfdOpen(int pid) { return (int) Sys.call("pidfd_open", pid, SYS_PIDFD_OPEN, pid, 0, 0); }

    /** Duplicates {@code targetFd} of the process behind {@code pidfd} into slsd (O_CLOEXEC set). */
    public static int pidfdGetfd(int pidfd, int targetFd) {
        return (int) Sys.call("pidfd_getfd", "pidfd " + pidfd + ", fd " + targetFd, SYS_PIDFD_GETFD, pidfd, targetFd, 0);
    }

    public static void close(int fd) { Sys.raw(SYS_CLOSE, fd, 0, 0, 0, 0, 0); }

    public static int open(String path, int flags) {
        return FdCalls.open(path, flags, 0);
    }

    /** ioctl with a pointer argument; returns the ioctl's non-negative result. */
    public static long ioctl(int fd, long request, long argAddress, String what) {
        return Sys.call("ioctl", what, SYS_IOCTL, fd, request, argAddress);
    }

    /** ioctl returning -errno instead of throwing (for probes and expected failures). */
    public static long ioctlRaw(int fd, long request, long argAddress) {
        return Sys.raw(SYS_IOCTL, fd, request, argAddress, 0, 0, 0);
    }

    /** process_vm_readv with prepared iovec arrays; returns the bytes read. */
    public static long processVmReadv(int pid, IoVecs local, IoVecs remote) {
        return Sys.call("process_vm_readv", pid, SYS_PROCESS_VM_READV, pid, local.address(), local.count(),
                remote.address(), remote.count(), 0);
    }

    public static long processVmWritev(int pid, IoVecs local, IoVecs remote) {
        return Sys.call("process_vm_writev", pid, SYS_PROCESS_VM_WRITEV, pid, local.address(), local.count(),
                remote.address(), remote.count(), 0);
    }

    /** Reads {@code dst.remaining()} bytes at {@code remote} in process pid into a direct buffer. */
    public static long processVmRead(int pid, ByteBuffer dst, long remote) {
        Pointer p = SCRATCH.get();
        long base = Sys.address(dst) + dst.position();
        p.putLong(0, base);
        p.putLong(8, dst.remaining());
        p.putLong(16, remote);
        p.putLong(24, dst.remaining());
        return Sys.call("process_vm_readv", pid + " @" + Long.toHexString(remote), SYS_PROCESS_VM_READV, pid,
                p.address(), 1, p.address() + 16, 1, 0);
    }

    /** Writes {@code src.remaining()} bytes to {@code remote} in process pid (not on r-x pages). */
    public static long processVmWrite(int pid, ByteBuffer src, long remote) {
        Pointer p = SCRATCH.get();
        long base = Sys.address(src) + src.position();
        p.putLong(0, base);
        p.putLong(8, src.remaining());
        p.putLong(16, remote);
        p.putLong(24, src.remaining());
        return Sys.call("process_vm_writev", pid + " @" + Long.toHexString(remote), SYS_PROCESS_VM_WRITEV, pid,
                p.address(), 1, p.address() + 16, 1, 0);
    }

    private static final ThreadLocal<ByteBuffer> PEEK = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(1 << 16));

    /** Reads a little target memory: process_vm_readv, or /proc/PID/mem where that fails (r-x, PROT_NONE). */
    public static byte[] peek(int pid, long address, int length) {
        if (length <= 1 << 16) {
            ByteBuffer b = PEEK.get();
            b.clear().limit(length);
            try {
                if (processVmRead(pid, b, address) == length) {
                    byte[] out = new byte[length];
                    b.get(0, out);
                    return out;
                }
            } catch (NativeException e) {
                // fall back below
            }
        }
        return readMem(pid, address, length);
    }

    /** Writes a little target memory: process_vm_writev, or /proc/PID/mem where that fails. */
    public static void poke(int pid, long address, byte[] data) {
        if (data.length <= 1 << 16) {
            ByteBuffer b = PEEK.get();
            b.clear();
            b.put(data).flip();
            try {
                if (processVmWrite(pid, b, address) == data.length) {
                    return;
                }
            } catch (NativeException e) {
                // fall back below
            }
        }
        writeMem(pid, address, data);
    }

    /** Reads target memory through /proc/PID/mem (works on any readable mapping). */
    public static byte[] readMem(int pid, long address, int length) {
        try (FileChannel ch = FileChannel.open(Path.of("/proc/" + pid + "/mem"), StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(length);
            while (b.hasRemaining()) {
                int n = ch.read(b, address + b.position());
                if (n <= 0) {
                    throw new IOException("short read at " + Long.toHexString(address + b.position()));
                }
            }
            return b.array();
        } catch (IOException e) {
            throw new UncheckedIOException("/proc/" + pid + "/mem @" + Long.toHexString(address), e);
        }
    }

    /** Writes target memory through /proc/PID/mem (also works on r-x pages, unlike process_vm_writev). */
    public static void writeMem(int pid, long address, byte[] data) {
        try (FileChannel ch = FileChannel.open(Path.of("/proc/" + pid + "/mem"), StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(data);
            while (b.hasRemaining()) {
                ch.write(b, address + b.position());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("/proc/" + pid + "/mem @" + Long.toHexString(address), e);
        }
    }

    /** get_robust_list(tid): the head pointer and length the thread registered (0, 0 if none). */
    public static long[] robustList(int tid) {
        Pointer p = SCRATCH.get();
        Sys.call("get_robust_list", tid, SYS_GET_ROBUST_LIST, tid, p.address(), p.address() + 8);
        return new long[] {p.getLong(0), p.getLong(8)};
    }

    /** prctl(PR_SET_CHILD_SUBREAPER) on slsd itself. */
    public static void setChildSubreaper(boolean on) {
        Sys.call("prctl", "PR_SET_CHILD_SUBREAPER", SYS_PRCTL, PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0);
    }

    /** The running kernel's release (uname -r). */
    public static String kernelRelease() {
        Pointer p = SCRATCH.get();
        Sys.call("uname", "", SYS_UNAME, p.address(), 0, 0);
        return p.getString(65 * 2);
    }

    /** CLOCK_MONOTONIC and CLOCK_BOOTTIME, the clockids {@link #clockNanos} takes. */
    public static final int CLOCK_MONOTONIC = 1, CLOCK_BOOTTIME = 7;

    /** clock_gettime(clock) in slsd's time namespace, in nanoseconds. */
    public static long clockNanos(int clock) {
        Pointer p = SCRATCH.get();
        Sys.call("clock_gettime", "clock " + clock, SYS_CLOCK_GETTIME, clock, p.address(), 0);
        return p.getLong(0) * 1_000_000_000L + p.getLong(8);
    }

    /** prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_GET): whether timer ids can be chosen. */
    public static boolean timerRestoreIdsAvailable() {
        return Sys.raw(SYS_PRCTL, PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_GET, 0, 0, 0, 0) >= 0;
    }
}
