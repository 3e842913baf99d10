package org.sls.slsd.linux;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * x86-64 {@code struct user_regs_struct} (216 bytes, NT_PRSTATUS), with named accessors over the
 * raw bytes. Mutable, not thread-safe.
 */
public final class Regs {
    public static final int SIZE = 216;
    public static final int R15 = 0, R14 = 8, R13 = 16, R12 = 24, RBP = 32, RBX = 40, R11 = 48, R10 = 56,
            R9 = 64, R8 = 72, RAX = 80, RCX = 88, RDX = 96, RSI = 104, RDI = 112, ORIG_RAX = 120,
            RIP = 128, CS = 136, EFLAGS = 144, RSP = 152, SS = 160, FS_BASE = 168, GS_BASE = 176,
            DS = 184, ES = 192, FS = 200, GS = 208;
    private final byte[] raw;
    private final ByteBuffer b;

    public Regs(byte[] raw) {
        if (raw.length != SIZE) {
            throw new IllegalArgumentException("user_regs_struct is " + SIZE + " bytes, got " + raw.length);
        }
        this.raw = raw;
        this.b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
    }

    public long get(int off) { return b.getLong(off); }
    public Regs set(int off, long v) { b.putLong(off, v); return this; }
    public long rax() { return get(RAX); }
    public long origRax() { return get(ORIG_RAX); }
    public long rip() { return get(RIP); }
    public long rsp() { return get(RSP); }
    public byte[] bytes() { return raw.clone(); }
    public Regs copy() { return new Regs(raw.clone()); }

    /**
     * The registers as the kernel would leave them after a restart of an interrupted syscall
     * (DESIGN section 9): -ERESTARTSYS/-NOINTR/-NOHAND restart the call; -ERESTART_RESTARTBLOCK is
     * returned as {@code restartBlockRax} (-EINTR for a saved image).
     */
    public Regs withSyscallRestart(long restartBlockRax) {
        Regs r = copy();
        long orig = origRax();
        long rax = rax();
        if (orig >= 0) {
            if (rax == -Errno.ERESTARTSYS || rax == -Errno.ERESTARTNOINTR || rax == -Errno.ERESTARTNOHAND) {
                r.set(RAX, orig).set(RIP, rip() - 2);
            } else if (rax == -Errno.ERESTART_RESTARTBLOCK) {
                r.set(RAX, restartBlockRax);
            }
        }
        return r;
    }

    @Override
    public boolean equals(Object o) { return o instanceof Regs r && Arrays.equals(raw, r.raw); }
    @Override
    public int hashCode() { return Arrays.hashCode(raw); }
    @Override
    public String toString() {
        return String.format("rip=%x rsp=%x rax=%x orig_rax=%x", rip(), rsp(), rax(), origRax());
    }
}
