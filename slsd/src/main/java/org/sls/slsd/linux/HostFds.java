package org.sls.slsd.linux;

import jnr.ffi.Pointer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.sls.slsd.linux.LinuxSyscalls.*;

/**
 * The fd links of processes ({@code /proc/PID/fd/N}), of every process of the host or of one,
 * read with raw {@code getdents64} and {@code readlinkat} into one native buffer per thread: a
 * periodic checkpoint reads its processes' fds while they are frozen, and who else holds their
 * pipes after every thaw, so a read must cost little; through java.nio it took about 10 us per fd.
 * Stateless; thread-safe.
 */
public final class HostFds {
    private static final int AT_FDCWD = -100;
    private static final int DIRENT_BUF = 32 << 10;
    private static final int LINK_MAX = 4096;
    /** The largest linux_dirent64: 19 bytes of header, a name of up to 255 bytes and its NUL, padded to 8. */
    private static final int MAX_DIRENT = 280;
    /** Where in the thread's buffer a process's fd directory is listed, a link read, and a path put. */
    private static final long LIST_OFF = DIRENT_BUF, LINK_OFF = 2L * DIRENT_BUF, PATH_OFF = LINK_OFF + LINK_MAX;
    /** Room for a path in the thread's buffer (a /proc directory, with its NUL). */
    private static final int PATH_MAX = 64;
    /** One native buffer per scanning thread: a directory listing, a link, a path. */
    private static final ThreadLocal<Pointer> BUF = ThreadLocal.withInitial(() -> Sys.alloc(2L * DIRENT_BUF + LINK_MAX + PATH_MAX));

    private HostFds() {}

    /**
     * Every link that starts with one of {@code prefixes}, with the pids holding it, over all
     * processes but {@code skipPid}. A process that exits or closes an fd meanwhile, or that slsd may
     * not look at, holds nothing.
     */
    public static Map<String, Set<Integer>> links(int skipPid, String... prefixes) {
        byte[][] pre = new byte[prefixes.length][];
        for (int i = 0; i < prefixes.length; i++) {
            pre[i] = prefixes[i].getBytes(StandardCharsets.UTF_8);
        }
        Pointer buf = BUF.get();
        long path = buf.address() + PATH_OFF;
        Map<String, Set<Integer>> out = new HashMap<>();
        int proc = Linux.open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        try {
            // /proc is listed at offset 0 of the buffer, each process's fds at LIST_OFF meanwhile
            long r = forEachNumbered(buf, proc, 0, (pid, name) -> {
                if (pid == 0 || pid == skipPid) {
                    return true;
                }
                byte[] p = (pid + "/fd").getBytes(StandardCharsets.US_ASCII);
                buf.put(PATH_OFF, p, 0, p.length);
                buf.putByte(PATH_OFF + p.length, (byte) 0);
                long dir = Sys.raw(SYS_OPENAT, proc, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, 0, 0);
                if (dir < 0) {
                    return true; // exited, or not ours to look at
                }
                try {
                    scanFds(buf, (int) dir, pid, pre, out);
                } finally {
                    Sys.raw(SYS_CLOSE, dir, 0, 0, 0, 0, 0);
                }
                return true;
            });
            if (r < 0) {
                throw new NativeException("getdents64", (int) -r, "/proc");
            }
        } finally {
            Sys.raw(SYS_CLOSE, proc, 0, 0, 0, 0, 0);
        }
        return out;
    }

    /**
     * The fds of one process with what their links read, in fd order (fds closed meanwhile left
     * out); empty when the process is gone or not ours to look at.
     */
    public static java.util.SortedMap<Integer, String> of(int pid) {
        Pointer buf = BUF.get();
        java.util.SortedMap<Integer, String> out = new java.util.TreeMap<>();
        long dir = openDir(buf, "/proc/" + pid + "/fd");
        if (dir < 0) {
            return out;
        }
        try {
            forEachLink(buf, dir, (fd, len) -> out.put(fd, link(buf, len)));
        } finally {
            Sys.raw(SYS_CLOSE, dir, 0, 0, 0, 0, 0);
        }
        return out;
    }

    /**
     * The entries of a /proc directory that are numbers (a process's tasks or fds), in listing
     * order; null when the directory is gone (its process exited). Raw openat, getdents64 and
     * close into the thread's buffer: three calls where a java.nio listing makes nine, and the
     * freeze lists a process's tasks several times while it stops them.
     */
    static List<Integer> numbers(String dirPath) {
        Pointer buf = BUF.get();
        long dir = openDir(buf, dirPath);
        if (dir == -Errno.ENOENT || dir == -Errno.ESRCH) {
            return null;
        }
        if (dir < 0) {
            throw new NativeException("open", (int) -dir, dirPath);
        }
        List<Integer> out = new ArrayList<>();
        try {
            long r = forEachNumbered(buf, dir, LIST_OFF, (v, name) -> {
                out.add(v);
                return true;
            });
            if (r == -Errno.ENOENT || r == -Errno.ESRCH) {
                return null;
            }
            if (r < 0) {
                throw new NativeException("getdents64", (int) -r, dirPath);
            }
            return out;
        } finally {
            Sys.raw(SYS_CLOSE, dir, 0, 0, 0, 0, 0);
        }
    }

    /** Opens directory {@code dirPath} through the path room of the thread's buffer: its fd, or the negative errno. */
    private static long openDir(Pointer buf, String dirPath) {
        byte[] p = dirPath.getBytes(StandardCharsets.US_ASCII);
        if (p.length >= PATH_MAX) {
            throw new IllegalArgumentException("path too long: " + dirPath);
        }
        buf.put(PATH_OFF, p, 0, p.length);
        buf.putByte(PATH_OFF + p.length, (byte) 0);
        return Sys.raw(SYS_OPENAT, AT_FDCWD, buf.address() + PATH_OFF, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, 0, 0);
    }

    /** Told each entry of a listing whose name is a number, and where that name lies in the thread's buffer; false ends the listing. */
    private interface NumberedVisitor {
        boolean visit(int number, long nameOff);
    }

    /**
     * Lists directory {@code dir} at offset {@code at} of the thread's buffer and tells {@code v}
     * each entry whose name is a number ({@code .} and {@code ..} left out), until the listing is
     * over or {@code v} says to stop: 0, or the negative errno of a getdents64 that failed.
     */
    private static long forEachNumbered(Pointer buf, long dir, long at, NumberedVisitor v) {
        while (true) {
            long n = Sys.raw(SYS_GETDENTS64, dir, buf.address() + at, DIRENT_BUF, 0, 0, 0);
            if (n <= 0) {
                return n;
            }
            for (long off = 0; off < n; ) {
                int reclen = Short.toUnsignedInt(buf.getShort(at + off + 16));
                long name = at + off + 19;
                off += reclen;
                int number = number(buf, name);
                if (number >= 0 && !v.visit(number, name)) {
                    return 0;
                }
            }
            if (listingOver(n)) {
                return 0;
            }
        }
    }

    private static void scanFds(Pointer buf, int dir, int pid, byte[][] pre, Map<String, Set<Integer>> out) {
        forEachLink(buf, dir, (fd, len) -> {
            if (startsWithAny(buf, LINK_OFF, len, pre)) {
                out.computeIfAbsent(link(buf, len), k -> new HashSet<>()).add(pid);
            }
        });
    }

    /** Told each fd whose link was read: {@code len} bytes at {@link #LINK_OFF} of the thread's buffer. */
    private interface LinkVisitor {
        void visit(int fd, int len);
    }

    /** Lists the fd directory {@code dir} at {@link #LIST_OFF} and reads each link (fds closed meanwhile left out). */
    private static void forEachLink(Pointer buf, long dir, LinkVisitor v) {
        long base = buf.address();
        forEachNumbered(buf, dir, LIST_OFF, (fd, name) -> {
            long len = Sys.raw(SYS_READLINKAT, dir, base + name, base + LINK_OFF, LINK_MAX, 0, 0);
            if (len > 0) {
                v.visit(fd, (int) len);
            }
            // not ours to look at: every other link of the process says the same
            return len != -Errno.EACCES && len != -Errno.EPERM;
        });
    }

    /**
     * Whether a getdents64 of a /proc directory that returned {@code n} bytes listed its last
     * entry: procfs fills the buffer until an entry does not fit, so room for one more means the
     * listing is over, and the call that would return 0 is spared (one per process of the host,
     * at every scan).
     */
    private static boolean listingOver(long n) {
        return n <= DIRENT_BUF - MAX_DIRENT;
    }

    private static String link(Pointer buf, int len) {
        byte[] l = new byte[len];
        buf.get(LINK_OFF, l, 0, len);
        return new String(l, StandardCharsets.UTF_8);
    }

    /** The decimal number a NUL-terminated name spells, or -1 when it is not one. */
    private static int number(Pointer buf, long off) {
        int v = 0;
        int digits = 0;
        for (; ; off++, digits++) {
            byte b = buf.getByte(off);
            if (b == 0) {
                return digits == 0 ? -1 : v;
            }
            if (b < '0' || b > '9' || digits > 9) {
                return -1;
            }
            v = v * 10 + (b - '0');
        }
    }

    private static boolean startsWithAny(Pointer buf, long off, int len, byte[][] pre) {
        outer:
        for (byte[] p : pre) {
            if (p.length > len) {
                continue;
            }
            for (int i = 0; i < p.length; i++) {
                if (buf.getByte(off + i) != p[i]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
