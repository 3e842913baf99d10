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

    static Pointer alloc(long size) {
        return Memory.allocateDirect(RUNTIME, size, true);
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
