package org.sls.slsd.linux;

import com.kenai.jffi.MemoryIO;
import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;

import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Loads {@link LinuxSyscalls} once and turns -1/errno into {@link NativeException}. Stateless, thread-safe. */
final class Sys {
    static final LinuxSyscalls.Libc LIBC = LibraryLoader.create(LinuxSyscalls.Libc.class).load("c");
    static final Runtime RUNTIME = Runtime.getRuntime(LIBC);
    private static final MemoryIO IO = MemoryIO.getInstance();

    private Sys() {}

    static int errno() {
        return LastError.getLastError(RUNTIME);
    }

    /** Raw syscall: returns the result or -errno (no exception). */
    static long raw(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
        long r = LIBC.syscall(nr, a1, a2, a3, a4, a5, a6);
        return r == -1 ? -errno() : r;
    }

    /** Syscall that throws {@code NativeException(call, errno, arg)} on failure. */
    static long call(String call, Object arg, long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
        long r = LIBC.syscall(nr, a1, a2, a3, a4, a5, a6);
        if (r == -1) {
            throw new NativeException(call, errno(), String.valueOf(arg));
        }
        return r;
    }

    static long call(String call, Object arg, long nr, long a1, long a2, long a3) {
        return call(call, arg, nr, a1, a2, a3, 0, 0, 0);
    }

    /**
     * Keeps {@code memory} (native memory a system call reads or fills) from being freed before
     * here. jnr frees a Pointer's memory once the Pointer is unreachable, and a Pointer whose
     * address was the last thing taken of it is unreachable while the call that uses the address
     * runs: a collection then frees the memory under the kernel (open("/proc") once failed with
     * EFAULT in a benchmark run that way). Call it after the call, for memory not read after it.
     */
    static void keep(Object memory) {
        java.lang.ref.Reference.reachabilityFence(memory);
    }

    static Pointer alloc(long size) {
        return Memory.allocateDirect(RUNTIME, size, true);
    }

    /** Native memory left as malloc gives it: for buffers the kernel fills before they are read. */
    static Pointer allocUncleared(long size) {
        return Memory.allocateDirect(RUNTIME, size, false);
    }

    /** Size of {@link #netlinkBuffer()}. */
    static final int NETLINK_BUFFER = 1 << 16;
    private static final ThreadLocal<Pointer> NETLINK = ThreadLocal.withInitial(() -> allocUncleared(NETLINK_BUFFER));

    /**
     * This thread's buffer for netlink answers (the sock_diag dumps made at every checkpoint), kept
     * rather than allocated (and zeroed) per dump: a dump reads each answer before it asks for the
     * next, and no dump runs inside another.
     */
    static Pointer netlinkBuffer() {
        return NETLINK.get();
    }

    static Pointer cString(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        Pointer p = Memory.allocateDirect(RUNTIME, b.length + 1, true);
        p.put(0, b, 0, b.length);
        p.putByte(b.length, (byte) 0);
        return p;
    }

    static long address(Buffer direct) {
        if (!direct.isDirect()) {
            throw new IllegalArgumentException("buffer is not direct");
        }
        return IO.getDirectBufferAddress(direct);
    }

    static ByteBuffer wrap(long address, int length) {
        return IO.newDirectByteBuffer(address, length);
    }
}
