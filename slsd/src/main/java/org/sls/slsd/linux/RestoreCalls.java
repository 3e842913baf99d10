package org.sls.slsd.linux;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;

/**
 * The kernel ABI the restore engine speaks inside a husk: x86-64 syscall numbers, flags and the
 * layouts of the structures injected syscalls take ({@code struct clone_args},
 * {@code struct prctl_mm_map}, {@code struct rlimit64}, {@code stack_t}). These calls run in the
 * husk through ptrace, not through JNR in slsd, so this class is plain constants and byte layouts.
 * Constants and stateless helpers only; thread-safe.
 */
public final class RestoreCalls {
    private RestoreCalls() {}

    // syscall numbers (x86-64)
    public static final long SYS_CLOSE = 3, SYS_LSEEK = 8, SYS_MMAP = 9, SYS_MPROTECT = 10, SYS_MUNMAP = 11,
            SYS_RT_SIGACTION = 13, SYS_MREMAP = 25, SYS_MADVISE = 28, SYS_DUP3 = 292, SYS_FTRUNCATE = 77,
            SYS_CHDIR = 80, SYS_UMASK = 95, SYS_SETGROUPS = 116, SYS_SETRESUID = 117, SYS_SETRESGID = 119,
            SYS_SETPGID = 109, SYS_SETSID = 112, SYS_RT_SIGQUEUEINFO = 129, SYS_SIGALTSTACK = 131,
            SYS_PERSONALITY = 135, SYS_PRCTL = 157, SYS_CHROOT = 161, SYS_SET_TID_ADDRESS = 218,
            SYS_SET_ROBUST_LIST = 273, SYS_OPENAT = 257, SYS_RT_TGSIGQUEUEINFO = 297, SYS_PRLIMIT64 = 302,
            SYS_MEMFD_CREATE = 319, SYS_RSEQ = 334, SYS_CLONE3 = 435, SYS_CLOSE_RANGE = 436, SYS_GETPID = 39,
            SYS_CAPSET = 126, SYS_SETITIMER = 38, SYS_TIMER_CREATE = 222, SYS_TIMER_SETTIME = 223,
            SYS_UNSHARE = 272;

    public static final long AT_FDCWD = -100;
    public static final int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_ACCMODE = 3, O_CREAT = 0100, O_EXCL = 0200,
            O_NOCTTY = 0400, O_TRUNC = 01000, O_APPEND = 02000, O_DIRECTORY = 0200000, O_CLOEXEC = 02000000;
    public static final long SEEK_SET = 0;

    // mmap(2), mremap(2), madvise(2)
    public static final long PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
    public static final long MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20,
            MAP_GROWSDOWN = 0x100, MAP_NORESERVE = 0x4000, MAP_FIXED_NOREPLACE = 0x100000;
    public static final long MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2;
    public static final long MADV_DONTFORK = 10, MADV_MERGEABLE = 12, MADV_HUGEPAGE = 14, MADV_NOHUGEPAGE = 15,
            MADV_DONTDUMP = 16, MADV_WIPEONFORK = 18;
    public static final long MFD_CLOEXEC = 1;

    // clone3(2)
    public static final long CLONE_VM = 0x100, CLONE_FS = 0x200, CLONE_FILES = 0x400, CLONE_SIGHAND = 0x800,
            CLONE_PARENT = 0x8000, CLONE_THREAD = 0x10000, CLONE_SYSVSEM = 0x40000;
    /** The flags pthread_create uses, minus the tid/tls ones (registers carry fs_base). */
    public static final long CLONE_THREAD_FLAGS = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD
            | CLONE_SYSVSEM;
    /** clone_args up to and including set_tid_size (CLONE_ARGS_SIZE_VER1). */
    public static final int CLONE_ARGS_SIZE = 80;

    // timer_create(2), unshare(2)
    /** prctl(PR_TIMER_CREATE_RESTORE_IDS, ON|OFF): timer_create takes the id in *created_timer_id (6.13+). */
    public static final long PR_TIMER_CREATE_RESTORE_IDS = 77, PR_TIMER_CREATE_RESTORE_IDS_OFF = 0,
            PR_TIMER_CREATE_RESTORE_IDS_ON = 1;
    public static final long CLONE_NEWTIME = 0x80;
    /** sizeof(struct sigevent) */
    public static final int SIGEVENT_SIZE = 64;

    // prctl(2)
    public static final long PR_SET_DUMPABLE = 4, PR_SET_NAME = 15, PR_SET_MM = 35, PR_SET_MM_MAP = 14,
            PR_SET_NO_NEW_PRIVS = 38, PR_SET_KEEPCAPS = 8, PR_CAPBSET_DROP = 24, PR_CAP_AMBIENT = 47,
            PR_CAP_AMBIENT_RAISE = 2;
    /** prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, start, len, name): the "[anon:name]" of /proc/PID/maps. */
    public static final long PR_SET_VMA = 0x53564d41L, PR_SET_VMA_ANON_NAME = 0;
    /** _LINUX_CAPABILITY_VERSION_3: 64-bit capability sets in two 32-bit halves. */
    public static final int CAPABILITY_VERSION_3 = 0x20080522;
    public static final int PRCTL_MM_MAP_SIZE = 104;

    public static final long RSEQ_FLAG_UNREGISTER = 1;
    public static final int SS_DISABLE = 2, SS_ONSTACK = 1;
    public static final long SS_AUTODISARM = 1L << 31;
    /** wait4(2): report only what already happened. */
    public static final int WNOHANG = 1;
    public static final int SIGKILL = 9, SIGSTOP = 19, SIGCONT = 18, SIGCHLD = 17, SIGTRAP = 5;

    // ptrace options a husk is traced with
    public static final long PTRACE_O_TRACESYSGOOD = 1, PTRACE_O_TRACEFORK = 2, PTRACE_O_TRACECLONE = 8,
            PTRACE_O_TRACEEXEC = 0x10, PTRACE_O_EXITKILL = 0x100000;
    public static final int PTRACE_EVENT_FORK = 1, PTRACE_EVENT_CLONE = 3, PTRACE_EVENT_STOP = 128;

    /** RLIMIT_* numbers keyed by the names /proc/PID/limits prints. */
    public static final Map<String, Integer> RLIMITS = Map.ofEntries(
            Map.entry("Max cpu time", 0), Map.entry("Max file size", 1), Map.entry("Max data size", 2),
            Map.entry("Max stack size", 3), Map.entry("Max core file size", 4), Map.entry("Max resident set", 5),
            Map.entry("Max processes", 6), Map.entry("Max open files", 7), Map.entry("Max locked memory", 8),
            Map.entry("Max address space", 9), Map.entry("Max file locks", 10),
            Map.entry("Max pending signals", 11), Map.entry("Max msgqueue size", 12),
            Map.entry("Max nice priority", 13), Map.entry("Max realtime priority", 14),
            Map.entry("Max realtime timeout", 15));
    public static final long RLIM_INFINITY = -1L;

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * {@code struct clone_args} (VER1): flags, pidfd, child_tid, parent_tid, exit_signal, stack,
     * stack_size, tls, set_tid, set_tid_size.
     *
     * @param setTidAddress where the wanted pid (one {@code pid_t} per pid namespace level) is, 0 for none
     */
    public static byte[] cloneArgs(long flags, int exitSignal, long setTidAddress) {
        ByteBuffer b = le(CLONE_ARGS_SIZE);
        b.putLong(0, flags);
        b.putLong(32, exitSignal);
        b.putLong(64, setTidAddress);
        b.putLong(72, setTidAddress == 0 ? 0 : 1);
        return b.array();
    }

    /** {@code struct prctl_mm_map}; exeFd -1 keeps the exe file, auxv at {@code auxvAddress}. */
    public static byte[] prctlMmMap(long startCode, long endCode, long startData, long endData, long startBrk,
                                    long brk, long startStack, long argStart, long argEnd, long envStart,
                                    long envEnd, long auxvAddress, int auxvSize, int exeFd) {
        ByteBuffer b = le(PRCTL_MM_MAP_SIZE);
        b.putLong(startCode).putLong(endCode).putLong(startData).putLong(endData).putLong(startBrk).putLong(brk)
                .putLong(startStack).putLong(argStart).putLong(argEnd).putLong(envStart).putLong(envEnd)
                .putLong(auxvAddress).putInt(auxvSize).putInt(exeFd);
        return b.array();
    }

    /** {@code struct rlimit64}; -1 is RLIM_INFINITY. */
    public static byte[] rlimit(long soft, long hard) {
        return le(16).putLong(0, soft).putLong(8, hard).array();
    }

    /** {@code stack_t} for sigaltstack(2). */
    public static byte[] stack(long sp, int flags, long size) {
        return le(24).putLong(0, sp).putInt(8, flags).putLong(16, size).array();
    }

    /** The kernel's {@code struct sigaction} for rt_sigaction(2): handler, flags, restorer, mask. */
    public static byte[] sigaction(long handler, long flags, long restorer, long mask) {
        return le(32).putLong(0, handler).putLong(8, flags).putLong(16, restorer).putLong(24, mask).array();
    }

    /** {@code struct __user_cap_header_struct} for capset(2) on the calling thread. */
    public static byte[] capHeader() {
        return le(8).putInt(0, CAPABILITY_VERSION_3).putInt(4, 0).array();
    }

    /** Two {@code struct __user_cap_data_struct} (low then high 32 bits): effective, permitted, inheritable. */
    public static byte[] capData(long effective, long permitted, long inheritable) {
        ByteBuffer b = le(24);
        b.putInt(0, (int) effective).putInt(4, (int) permitted).putInt(8, (int) inheritable);
        b.putInt(12, (int) (effective >>> 32)).putInt(16, (int) (permitted >>> 32)).putInt(20, (int) (inheritable >>> 32));
        return b.array();
    }

    /** A {@code gid_t[]} for setgroups(2). */
    public static byte[] gids(java.util.List<Integer> groups) {
        ByteBuffer b = le(Math.max(4, groups.size() * 4));
        for (int i = 0; i < groups.size(); i++) {
            b.putInt(i * 4, groups.get(i));
        }
        return b.array();
    }

    /** A NUL-terminated string. */
    public static byte[] cString(String s) {
        byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return java.util.Arrays.copyOf(b, b.length + 1);
    }

    /** Major number of a Linux {@code dev_t} as {@code stat} returns it. */
    public static long major(long dev) {
        return ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
    }

    /** Minor number of a Linux {@code dev_t}. */
    public static long minor(long dev) {
        return (dev & 0xff) | ((dev >>> 12) & ~0xffL);
    }

    /** struct sigevent: sigev_value, sigev_signo, sigev_notify, and the target thread for SIGEV_THREAD_ID. */
    public static byte[] sigevent(long value, int signo, int notify, int tid) {
        ByteBuffer b = ByteBuffer.allocate(SIGEVENT_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, value).putInt(8, signo).putInt(12, notify).putInt(16, tid);
        return b.array();
    }

    /** struct itimerspec from nanoseconds: it_interval, then it_value. */
    public static byte[] itimerspec(long intervalNs, long valueNs) {
        ByteBuffer b = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, intervalNs / 1_000_000_000L).putLong(8, intervalNs % 1_000_000_000L)
                .putLong(16, valueNs / 1_000_000_000L).putLong(24, valueNs % 1_000_000_000L);
        return b.array();
    }

    /** struct itimerval: it_interval, then it_value, each seconds and microseconds. */
    public static byte[] itimerval(long intervalSec, long intervalUsec, long valueSec, long valueUsec) {
        ByteBuffer b = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, intervalSec).putLong(8, intervalUsec).putLong(16, valueSec).putLong(24, valueUsec);
        return b.array();
    }
}
