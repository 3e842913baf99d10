package org.sls.slsd.linux;

import jnr.ffi.Pointer;

/**
 * Pseudo-terminals in slsd itself: a new master ({@code posix_openpt}, unlocked), its slave
 * ({@code TIOCGPTPEER}), termios and window size, the bytes queued each way, and waiting for a
 * master to become readable. Failures throw {@link NativeException} naming the call and the
 * terminal. Stateless, thread-safe.
 */
public final class PtyCalls {
    /** ioctl's syscall number, for injecting the tty ioctls into a husk. */
    public static final long SYS_IOCTL = 16;
    /** x86-64 tty ioctls (asm-generic/ioctls.h). */
    public static final long TCGETS = 0x5401, TCSETS = 0x5402, TIOCSCTTY = 0x540E, TIOCGPGRP = 0x540F,
            TIOCSPGRP = 0x5410, TIOCOUTQ = 0x5411, TIOCGWINSZ = 0x5413, TIOCSWINSZ = 0x5414, TIOCINQ = 0x541B,
            TIOCGPTN = 0x80045430L, TIOCSPTLCK = 0x40045431L, TIOCGPKT = 0x80045438L, TIOCGPTPEER = 0x5441;
    /** The kernel's struct termios (4 flag words, the line discipline, 19 control characters). */
    public static final int TERMIOS_SIZE = 36;
    public static final int O_NOCTTY = 0400;
    static final short POLLIN = 1, POLLERR = 8, POLLHUP = 0x10;

    private PtyCalls() {}

    /** posix_openpt(O_RDWR | O_NOCTTY), unlocked (unlockpt): the master of a new pty, close-on-exec. */
    public static int openMaster() {
        int m = Linux.open("/dev/ptmx", FdCalls.O_RDWR | O_NOCTTY | FdCalls.O_CLOEXEC);
        try {
            Pointer zero = Sys.alloc(4);
            Linux.ioctl(m, TIOCSPTLCK, zero.address(), "TIOCSPTLCK (unlockpt) on a new /dev/ptmx");
            Sys.keep(zero);
            return m;
        } catch (RuntimeException e) {
            Linux.close(m);
            throw e;
        }
    }

    /** The number N of the master's slave /dev/pts/N (ptsname). */
    public static int number(int master) {
        Pointer n = Sys.alloc(4);
        Linux.ioctl(master, TIOCGPTN, n.address(), "TIOCGPTN (ptsname) on master fd " + master);
        return n.getInt(0);
    }

    /** Opens the master's slave (TIOCGPTPEER: no path lookup) with {@code flags}, never as a controlling terminal. */
    public static int openSlave(int master, int flags) {
        return (int) Sys.call("ioctl", "TIOCGPTPEER on master fd " + master, LinuxSyscalls.SYS_IOCTL, master,
                TIOCGPTPEER, flags | O_NOCTTY | FdCalls.O_CLOEXEC);
    }

    /** Whether a master is in packet mode (TIOCPKT). */
    public static boolean packetMode(int master, String what) {
        Pointer n = Sys.alloc(4);
        Linux.ioctl(master, TIOCGPKT, n.address(), "TIOCGPKT on " + what);
        return n.getInt(0) != 0;
    }

    /** The terminal's struct termios as the kernel stores it. */
    public static byte[] termios(int fd, String what) {
        Pointer t = Sys.alloc(TERMIOS_SIZE);
        Linux.ioctl(fd, TCGETS, t.address(), "TCGETS on " + what);
        byte[] b = new byte[TERMIOS_SIZE];
        t.get(0, b, 0, b.length);
        return b;
    }

    public static void setTermios(int fd, byte[] termios, String what) {
        if (termios.length != TERMIOS_SIZE) {
            throw new IllegalArgumentException(what + ": termios of " + termios.length + " bytes, not " + TERMIOS_SIZE);
        }
        Pointer t = Sys.alloc(TERMIOS_SIZE);
        t.put(0, termios, 0, termios.length);
        Linux.ioctl(fd, TCSETS, t.address(), "TCSETS on " + what);
        Sys.keep(t);
    }

    /** {rows, columns, x pixels, y pixels}. */
    public static int[] windowSize(int fd, String what) {
        Pointer w = Sys.alloc(8);
        Linux.ioctl(fd, TIOCGWINSZ, w.address(), "TIOCGWINSZ on " + what);
        return new int[] {w.getShort(0) & 0xffff, w.getShort(2) & 0xffff, w.getShort(4) & 0xffff, w.getShort(6) & 0xffff};
    }

    /** Sets the window size (the foreground process group gets SIGWINCH when it changes). */
    public static void setWindowSize(int fd, int rows, int cols, int xpixel, int ypixel, String what) {
        Pointer w = Sys.alloc(8);
        w.putShort(0, (short) rows);
        w.putShort(2, (short) cols);
        w.putShort(4, (short) xpixel);
        w.putShort(6, (short) ypixel);
        Linux.ioctl(fd, TIOCSWINSZ, w.address(), "TIOCSWINSZ " + rows + "x" + cols + " on " + what);
        Sys.keep(w);
    }

    /** Bytes typed but not yet read by the terminal's reader (complete lines only, in canonical mode). */
    public static int inputQueued(int fd, String what) {
        Pointer n = Sys.alloc(4);
        Linux.ioctl(fd, TIOCINQ, n.address(), "TIOCINQ on " + what);
        return n.getInt(0);
    }

    /** Bytes written to the terminal and not yet passed to its master. */
    public static int outputQueued(int fd, String what) {
        Pointer n = Sys.alloc(4);
        Linux.ioctl(fd, TIOCOUTQ, n.address(), "TIOCOUTQ on " + what);
        return n.getInt(0);
    }

    /**
     * Waits up to {@code timeoutMs} for {@code fd} to be readable: true when it is (or has hung
     * up or failed, which the next read reports), false on timeout or interruption.
     */
    public static boolean awaitReadable(int fd, int timeoutMs) {
        Pointer p = Sys.alloc(8);
        p.putInt(0, fd);
        p.putShort(4, POLLIN);
        long r = Sys.raw(LinuxSyscalls.SYS_POLL, p.address(), 1, timeoutMs, 0, 0, 0);
        if (r == -Errno.EINTR || r == 0) {
            return false;
        }
        if (r < 0) {
            throw new NativeException("poll", (int) -r, "fd " + fd);
        }
        return (p.getShort(6) & (POLLIN | POLLERR | POLLHUP)) != 0;
    }
}
