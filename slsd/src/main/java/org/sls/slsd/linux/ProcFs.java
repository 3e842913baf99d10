package org.sls.slsd.linux;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Parsers for /proc/PID files (maps, smaps, stat, status, limits, fd, fdinfo, task children).
 * Stateless and thread-safe. A vanished process shows up as {@link NoSuchProcessException}.
 */
public final class ProcFs {
    private ProcFs() {}

    /** The process (or thread) is gone. */
    public static final class NoSuchProcessException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final int pid;

        public NoSuchProcessException(int pid, Throwable cause) {
            super("pid " + pid + ": no such process", cause);
            this.pid = pid;
        }

        public int pid() { return pid; }
    }

    static Path dir(int pid) { return Path.of("/proc", Integer.toString(pid)); }

    public static boolean exists(int pid) { return Files.isDirectory(dir(pid)); }

    /**
     * The /proc files the kernel makes in one go (single_open), whose short read gives the rest:
     * each read in the frozen window costs three calls instead of four.
     */
    private static final Set<String> ONE_SHOW = Set.of("stat", "status", "comm", "limits", "personality",
            "timens_offsets");

    /**
     * A /proc file of the process, read with raw openat/read/close (see {@link #readRaw}): a
     * checkpoint reads some thirty of them while the process is frozen, and java.nio's read costs
     * six calls and several times their time.
     */
    private static String read(int pid, String name) {
        return readRaw(pid, name, ONE_SHOW.contains(name.substring(name.lastIndexOf('/') + 1)));
    }

    /** {@link #read} through java.nio, for a path too long for the raw read's buffer. */
    private static String readNio(int pid, String name) {
        try {
            return Files.readString(dir(pid).resolve(name), java.nio.charset.StandardCharsets.ISO_8859_1);
        } catch (NoSuchFileException e) {
            throw new NoSuchProcessException(pid, e);
        } catch (IOException e) {
            if (!exists(pid)) {
                throw new NoSuchProcessException(pid, e);
            }
            throw new UncheckedIOException("/proc/" + pid + "/" + name, e);
        }
    }

    public static byte[] readBytes(int pid, String name) {
        try {
            return Files.readAllBytes(dir(pid).resolve(name));
        } catch (NoSuchFileException e) {
            throw new NoSuchProcessException(pid, e);
        } catch (IOException e) {
            throw new UncheckedIOException("/proc/" + pid + "/" + name, e);
        }
    }

    /** readlink of /proc/PID/name (exe, cwd, root, fd/N); empty when unreadable. */
    public static Optional<String> link(int pid, String name) {
        try {
            return Optional.of(Files.readSymbolicLink(dir(pid).resolve(name)).toString());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** /proc/PID/maps, without VmFlags. */
    public static List<Vma> maps(int pid) {
        List<Vma> out = new ArrayList<>();
        for (String line : read(pid, "maps").split("\n")) {
            if (!line.isEmpty()) {
                out.add(parseMapsLine(line, Set.of()));
            }
        }
        return out;
    }

    /** /proc/PID/smaps: every VMA with its VmFlags. */
    public static List<Vma> smaps(int pid) {
        return smapsDetailed(pid).vmas();
    }

    /** smaps digest: the VMAs with VmFlags and the process's anonymous memory in bytes. */
    public record Smaps(List<Vma> vmas, long anonymousBytes) {}

    /** /proc/PID/smaps with the Anonymous totals (walks every page table: costly on big processes). */
    public static Smaps smapsDetailed(int pid) {
        return parseSmaps(read(pid, "smaps"));
    }

    /**
     * Parses smaps text: each VMA's header line, its Anonymous figure and its VmFlags (the last
     * line of a VMA). Scans the text once, without splitting it or the lines: it runs before
     * every periodic checkpoint, and a big process has thousands of lines.
     */
    static Smaps parseSmaps(String text) {
        List<Vma> out = new ArrayList<>();
        long anon = 0;
        String header = null;
        int n = text.length();
        int at = 0;
        while (at < n) {
            int eol = text.indexOf('\n', at);
            if (eol < 0) {
                eol = n;
            }
            if (eol > at) {
                char c = text.charAt(at);
                if (text.startsWith("Anonymous:", at)) {
                    anon += firstNumber(text, at + 10, eol) * 1024;
                } else if (text.startsWith("VmFlags:", at)) {
                    if (header != null) {
                        out.add(parseMapsLine(header, vmFlags(text, at + 8, eol)));
                        header = null;
                    }
                } else if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) {
                    int dash = text.indexOf('-', at);
                    int sp = text.indexOf(' ', at);
                    if (dash > at && dash < eol && sp > dash && sp < eol) {
                        header = text.substring(at, eol);
                    }
                }
            }
            at = eol + 1;
        }
        return new Smaps(out, anon);
    }

    /** The first decimal number in text[from, to). */
    private static long firstNumber(String text, int from, int to) {
        int i = from;
        while (i < to && (text.charAt(i) < '0' || text.charAt(i) > '9')) {
            i++;
        }
        long v = 0;
        while (i < to && text.charAt(i) >= '0' && text.charAt(i) <= '9') {
            v = v * 10 + (text.charAt(i++) - '0');
        }
        return v;
    }

    /** The two-letter flags the kernel prints, shared: the same few dozen for every VMA. */
    private static final java.util.concurrent.ConcurrentHashMap<String, String> FLAG_NAMES =
            new java.util.concurrent.ConcurrentHashMap<>();

    private static Set<String> vmFlags(String text, int from, int to) {
        Set<String> flags = new TreeSet<>();
        int i = from;
        while (i < to) {
            while (i < to && text.charAt(i) == ' ') {
                i++;
            }
            int j = i;
            while (j < to && text.charAt(j) != ' ') {
                j++;
            }
            if (j > i) {
                String f = text.substring(i, j);
                flags.add(FLAG_NAMES.computeIfAbsent(f, k -> k));
            }
            i = j;
        }
        return flags;
    }

    static Vma parseMapsLine(String line, Set<String> flags) {
        // 7f1c2a000000-7f1c2a021000 rw-p 00000000 00:00 0                          [heap]
        int p = 0;
        int dash = line.indexOf('-');
        long start = Long.parseUnsignedLong(line.substring(0, dash), 16);
        int sp = line.indexOf(' ', dash);
        long end = Long.parseUnsignedLong(line.substring(dash + 1, sp), 16);
        p = sp + 1;
        String perms = line.substring(p, p + 4);
        p += 5;
        sp = line.indexOf(' ', p);
        long offset = Long.parseUnsignedLong(line.substring(p, sp), 16);
        p = sp + 1;
        sp = line.indexOf(' ', p);
        String dev = line.substring(p, sp);
        int colon = dev.indexOf(':');
        int major = Integer.parseInt(dev.substring(0, colon), 16);
        int minor = Integer.parseInt(dev.substring(colon + 1), 16);
        p = sp + 1;
        sp = line.indexOf(' ', p);
        long inode = Long.parseLong(sp < 0 ? line.substring(p) : line.substring(p, sp));
        String path = sp < 0 ? "" : line.substring(sp).trim();
        return new Vma(start, end, perms, offset, major, minor, inode, path, flags);
    }

    /** /proc/PID/stat, parsed. */
    public static ProcStat stat(int pid) { return ProcStat.parse(read(pid, "stat")); }

    /**
     * The controlling terminal of a process's session, from /proc/PID/stat: {tty_nr (the device
     * number as the kernel encodes it: major in bits 8-15, minor in bits 0-7 and 20-31; 0 for none),
     * tpgid (the terminal's foreground process group; -1 for none)}.
     */
    public static int[] controllingTerminal(int pid) {
        String s = read(pid, "stat");
        String[] f = s.substring(s.lastIndexOf(')') + 2).trim().split(" ");
        return new int[] {Integer.parseInt(f[4]), Integer.parseInt(f[5])};
    }

    /** The major and minor numbers of a tty_nr of {@link #controllingTerminal}. */
    public static int[] ttyDevice(int ttyNr) {
        return new int[] {(ttyNr >>> 8) & 0xfff, (ttyNr & 0xff) | ((ttyNr >>> 12) & 0xfff00)};
    }

    /** /proc/PID/task/TID/stat. */
    public static ProcStat taskStat(int pid, int tid) { return ProcStat.parse(read(pid, "task/" + tid + "/stat")); }

    /** Whether a thread (the main thread when {@code tid == pid}) has exited: a zombie, or gone. */
    public static boolean taskExited(int pid, int tid) {
        try {
            return taskStat(pid, tid).exited();
        } catch (NoSuchProcessException e) {
            return true;
        }
    }

    /** /proc/PID/status as key → value. */
    public static Map<String, String> status(int pid) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : read(pid, "status").split("\n")) {
            int c = line.indexOf(':');
            if (c > 0) {
                m.put(line.substring(0, c), line.substring(c + 1).trim());
            }
        }
        return m;
    }

    public static String comm(int pid) { return read(pid, "comm").strip(); }

    /** {@link #comm}, or "?" when it cannot be read (gone meanwhile): for naming a process in a message. */
    public static String commOrUnknown(int pid) {
        try {
            return comm(pid);
        } catch (RuntimeException e) {
            return "?";
        }
    }

    public static String taskComm(int pid, int tid) { return read(pid, "task/" + tid + "/comm").strip(); }

    /** Thread ids of the process, ascending. */
    public static List<Integer> tasks(int pid) {
        return numbered(pid, "task");
    }

    /** Children of every thread of the process (from /proc/PID/task/TID/children). */
    public static List<Integer> children(int pid) {
        return children(pid, tasks(pid));
    }

    /**
     * Children of the threads {@code tids} of the process, which the caller has listed already (the
     * freeze, which stops them): a thread gone meanwhile has none.
     */
    public static List<Integer> children(int pid, List<Integer> tids) {
        Set<Integer> out = new HashSet<>();
        for (int tid : tids) {
            String s;
            try {
                s = read(pid, "task/" + tid + "/children");
            } catch (NoSuchProcessException e) {
                continue;
            }
            for (String t : s.trim().split("\\s+")) {
                if (!t.isEmpty()) {
                    out.add(Integer.parseInt(t));
                }
            }
        }
        List<Integer> l = new ArrayList<>(out);
        l.sort(null);
        return l;
    }

    /** Open fd numbers of the process, ascending. */
    public static List<Integer> fds(int pid) {
        return numbered(pid, "fd");
    }

    /** The numbered entries of directory /proc/PID/{@code dir}, ascending (raw getdents64: see {@link HostFds#numbers}). */
    private static List<Integer> numbered(int pid, String dir) {
        List<Integer> out = HostFds.numbers("/proc/" + pid + "/" + dir);
        if (out == null) {
            throw new NoSuchProcessException(pid, null);
        }
        out.sort(null);
        return out;
    }

    /** /proc/PID/fdinfo/FD as key → value (pos, flags in octal, mnt_id, ino...). */
    public static Map<String, String> fdinfo(int pid, int fd) {
        return fdinfo(fdinfoText(pid, fd));
    }

    /** The text of /proc/PID/fdinfo/FD. */
    public static String fdinfoText(int pid, int fd) {
        return readRaw(pid, "fdinfo/" + fd, true);
    }

    /** What one read of a small /proc file asks for. */
    private static final int SMALL_READ = 8192;
    /** Per thread: a path and one read of a small /proc file. */
    private static final ThreadLocal<jnr.ffi.Pointer> SMALL = ThreadLocal.withInitial(() -> Sys.alloc(256 + SMALL_READ));

    /** This thread's {@link #SMALL} buffer with {@code path} at its start, NUL-terminated; null when it does not fit. */
    private static jnr.ffi.Pointer smallPath(String path) {
        byte[] p = path.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        if (p.length >= 256) {
            return null;
        }
        jnr.ffi.Pointer b = SMALL.get();
        b.put(0, p, 0, p.length);
        b.putByte(p.length, (byte) 0);
        return b;
    }

    /**
     * A /proc file of the process read with raw openat/read/close, for the small files read for
     * every fd of a frozen process (java.nio costs several times the three calls); larger files
     * are read on in pieces.
     */
    private static String readRaw(int pid, String name) {
        return readRaw(pid, name, false);
    }

    /**
     * With {@code oneShow}, for a file the kernel makes in one go (single_open: fdinfo): a read that
     * returns less than asked has given the rest, and the read that would return 0 is spared.
     */
    private static String readRaw(int pid, String name, boolean oneShow) {
        jnr.ffi.Pointer b = smallPath("/proc/" + pid + "/" + name);
        if (b == null) {
            return readNio(pid, name);
        }
        long fd = Sys.raw(LinuxSyscalls.SYS_OPENAT, -100, b.address(), LinuxSyscalls.O_RDONLY | LinuxSyscalls.O_CLOEXEC, 0, 0, 0);
        if (fd < 0) {
            if (fd == -Errno.ENOENT || fd == -Errno.ESRCH || !exists(pid)) {
                throw new NoSuchProcessException(pid, null);
            }
            throw new NativeException("open", (int) -fd, "/proc/" + pid + "/" + name);
        }
        try {
            // a seq_file read may stop short of the buffer before the end: only 0 is the end (but see oneShow)
            java.io.ByteArrayOutputStream text = new java.io.ByteArrayOutputStream(512);
            byte[] chunk = new byte[SMALL_READ];
            while (true) {
                long n = Sys.raw(LinuxSyscalls.SYS_READ, fd, b.address() + 256, SMALL_READ, 0, 0, 0);
                if (n < 0) {
                    if (n == -Errno.ESRCH || !exists(pid)) {
                        throw new NoSuchProcessException(pid, null);
                    }
                    throw new NativeException("read", (int) -n, "/proc/" + pid + "/" + name);
                }
                if (n == 0) {
                    return text.toString(java.nio.charset.StandardCharsets.ISO_8859_1);
                }
                b.get(256, chunk, 0, (int) n);
                text.write(chunk, 0, (int) n);
                if (oneShow && n < SMALL_READ) {
                    return text.toString(java.nio.charset.StandardCharsets.ISO_8859_1);
                }
            }
        } finally {
            Sys.raw(LinuxSyscalls.SYS_CLOSE, fd, 0, 0, 0, 0, 0);
        }
    }

    /**
     * stat(2) of what fd {@code fd} of {@code pid} refers to (its /proc link followed), as
     * {st_mode, st_dev, st_ino}; null when it cannot be stat'ed. One raw call: java.nio's
     * attribute views cost several times that, for every fd at every checkpoint.
     */
    public static long[] fdStat(int pid, int fd) {
        jnr.ffi.Pointer b = smallPath("/proc/" + pid + "/fd/" + fd); // always short enough
        return statAt(b, Sys.raw(LinuxSyscalls.SYS_NEWFSTATAT, -100, b.address(), b.address() + 256, 0, 0, 0));
    }

    /**
     * As {@link #fdStat(int, int)}, of slsd's own fd {@code ownFd} (a copy of a process's fd, the
     * same open file): fstat(2), without the walk through /proc that stat of the link costs.
     */
    public static long[] fdStat(int ownFd) {
        jnr.ffi.Pointer b = SMALL.get();
        return statAt(b, Sys.raw(LinuxSyscalls.SYS_FSTAT, ownFd, b.address() + 256, 0, 0, 0, 0));
    }

    /** {st_mode, st_dev, st_ino} of the struct stat a call returning {@code r} left at offset 256 of {@code b}; null when it failed. */
    private static long[] statAt(jnr.ffi.Pointer b, long r) {
        if (r < 0) {
            return null;
        }
        // struct stat (x86-64): st_dev at 0, st_ino at 8, st_mode (32 bits) at 24; 144 bytes
        return new long[] {b.getInt(256 + 24) & 0xffffffffL, b.getLong(256), b.getLong(256 + 8)};
    }

    /** fdinfo text as key → value (the first line of each key). */
    public static Map<String, String> fdinfo(String text) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            int c = line.indexOf(':');
            if (c > 0) {
                m.putIfAbsent(line.substring(0, c), line.substring(c + 1).trim());
            }
        }
        return m;
    }

    /** The "lock:" lines of fdinfo text (the locks taken through that open file), without the prefix. */
    public static java.util.List<String> fdLocks(String fdinfoText) {
        java.util.List<String> out = new java.util.ArrayList<>();
        if (!fdinfoText.contains("lock:")) {
            return out;
        }
        for (String line : fdinfoText.split("\n")) {
            if (line.startsWith("lock:")) {
                out.add(line.substring(5).trim());
            }
        }
        return out;
    }

    /** /proc/PID/limits: resource name → {soft, hard}, -1 for unlimited. */
    public static Map<String, long[]> limits(int pid) {
        Map<String, long[]> m = new LinkedHashMap<>();
        String[] lines = read(pid, "limits").split("\n");
        for (int i = 1; i < lines.length; i++) {
            String l = lines[i];
            if (l.length() < 26) {
                continue;
            }
            String name = l.substring(0, 26).trim();
            String[] v = l.substring(26).trim().split("\\s+");
            if (v.length >= 2) {
                m.put(name, new long[] {parseLimit(v[0]), parseLimit(v[1])});
            }
        }
        return m;
    }

    private static long parseLimit(String s) {
        return s.equals("unlimited") ? -1 : Long.parseLong(s);
    }

    /** The long-valued fields of /proc/PID/personality (hex). */
    public static long personality(int pid) {
        return Long.parseLong(read(pid, "personality").trim(), 16);
    }

    /** The tracer of a process, 0 when none (TracerPid in status). */
    public static int tracerPid(int pid) {
        return Integer.parseInt(status(pid).getOrDefault("TracerPid", "0"));
    }

    /**
     * One entry of /proc/PID/timers: a POSIX timer with its id, signal and sigev_value, how it
     * notifies ("signal", "none", "thread"; {@code threadId} for SIGEV_THREAD_ID, whose
     * {@code target} is then a tid) and its clockid.
     */
    public record PosixTimerEntry(int id, int signal, long value, String notification, boolean threadId, int target,
                                  int clock) {}

    /** /proc/PID/timers, by ascending id (the kernel lists them newest first). */
    public static List<PosixTimerEntry> posixTimers(int pid) {
        List<PosixTimerEntry> out = new ArrayList<>();
        Map<String, String> t = new LinkedHashMap<>();
        String text = read(pid, "timers");
        for (String line : (text + "\nID: end").split("\n")) {
            int c = line.indexOf(':');
            if (c < 0) {
                continue;
            }
            String key = line.substring(0, c).trim();
            String val = line.substring(c + 1).trim();
            if (key.equals("ID") && !t.isEmpty()) {
                out.add(posixTimer(pid, t));
                t.clear();
            }
            t.put(key, val);
        }
        out.sort(java.util.Comparator.comparingInt(PosixTimerEntry::id));
        return out;
    }

    private static PosixTimerEntry posixTimer(int pid, Map<String, String> t) {
        try {
            // signal: SIGNO/SIVAL_HEX   notify: signal|none|thread/pid|tid.N   ClockID: N
            String[] sig = t.get("signal").split("/");
            String[] notify = t.get("notify").split("/");
            String[] target = notify[1].split("\\.");
            return new PosixTimerEntry(Integer.parseInt(t.get("ID")), Integer.parseInt(sig[0]),
                    Long.parseUnsignedLong(sig[1], 16), notify[0], target[0].equals("tid"),
                    Integer.parseInt(target[1]), Integer.parseInt(t.get("ClockID")));
        } catch (RuntimeException e) {
            throw new IllegalStateException("/proc/" + pid + "/timers: cannot read the entry " + t, e);
        }
    }

    /**
     * The offsets (nanoseconds) of CLOCK_MONOTONIC and CLOCK_BOOTTIME in the time namespace the
     * process's children enter (/proc/PID/timens_offsets); zeros when the kernel has no time
     * namespaces.
     */
    public static long[] timensOffsets(int pid) {
        if (!Files.exists(dir(pid).resolve("timens_offsets"))) {
            return new long[2];
        }
        long[] out = new long[2];
        for (String line : read(pid, "timens_offsets").split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 3) {
                long ns = Long.parseLong(f[1]) * 1_000_000_000L + Long.parseLong(f[2]);
                if (f[0].equals("monotonic") || f[0].equals("1")) {
                    out[0] = ns;
                } else if (f[0].equals("boottime") || f[0].equals("7")) {
                    out[1] = ns;
                }
            }
        }
        return out;
    }
}
