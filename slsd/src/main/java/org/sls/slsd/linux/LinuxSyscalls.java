package org.sls.slsd.linux;

import jnr.ffi.Pointer;

/**
 * The raw libc entry points slsd uses, bound through JNR-FFI, with the kernel constants they
 * need. Package-private: everything else goes through the facades ({@link Linux}, {@link Ptrace},
 * {@link PageMap}, {@link Userfaultfd}, {@link Spawner}...). Thread-safe: methods are called from any
 * thread; errno is saved by JNR per call.
 */
final class LinuxSyscalls {
    private LinuxSyscalls() {}

    /**
     * The libc functions. Public only because JNR generates its implementation in another class
     * loader; the enclosing class keeps it package-private to Java code.
     */
    public interface Libc {
    /** glibc's {@code syscall(2)}: integer arguments only, so the variadic call is safe on x86-64. */
    long syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6);

    int posix_spawn(Pointer pid, String path, Pointer fileActions, Pointer attr, Pointer argv, Pointer envp);
    int posix_spawn_file_actions_init(Pointer fa);
    int posix_spawn_file_actions_destroy(Pointer fa);
    int posix_spawn_file_actions_addopen(Pointer fa, int fd, String path, int oflag, int mode);
    int posix_spawn_file_actions_adddup2(Pointer fa, int fd, int newfd);
    int posix_spawn_file_actions_addchdir_np(Pointer fa, String path);
    int posix_spawn_file_actions_addclosefrom_np(Pointer fa, int from);
    int posix_spawnattr_init(Pointer attr);
    int posix_spawnattr_destroy(Pointer attr);
    int posix_spawnattr_setflags(Pointer attr, short flags);
    int posix_spawnattr_setsigmask(Pointer attr, Pointer sigset);
    int posix_spawnattr_setsigdefault(Pointer attr, Pointer sigset);
    }

    // syscall numbers (x86-64)
    static final long SYS_READ = 0, SYS_WRITE = 1, SYS_OPEN = 2, SYS_CLOSE = 3, SYS_LSEEK = 8, SYS_MMAP = 9,
            SYS_MPROTECT = 10, SYS_MUNMAP = 11, SYS_BRK = 12, SYS_RT_SIGACTION = 13,
            SYS_RT_SIGPROCMASK = 14, SYS_IOCTL = 16, SYS_PREAD64 = 17, SYS_MADVISE = 28,
            SYS_GETPID = 39, SYS_SOCKET = 41, SYS_SETSOCKOPT = 54, SYS_KILL = 62, SYS_WAIT4 = 61,
            SYS_UNAME = 63, SYS_PTRACE = 101, SYS_GETUID = 102, SYS_SIGALTSTACK = 131,
            SYS_PERSONALITY = 135, SYS_PRCTL = 157, SYS_GETTID = 186, SYS_TGKILL = 234,
            SYS_WAITID = 247, SYS_SET_ROBUST_LIST = 273, SYS_GET_ROBUST_LIST = 274,
            SYS_PRLIMIT64 = 302, SYS_PROCESS_VM_READV = 310, SYS_PROCESS_VM_WRITEV = 311,
            SYS_USERFAULTFD = 323, SYS_RSEQ = 334, SYS_CLONE3 = 435, SYS_PIDFD_OPEN = 434,
            SYS_PIDFD_GETFD = 438, SYS_SET_TID_ADDRESS = 218, SYS_RESTART_SYSCALL = 219,
            SYS_GETITIMER = 36, SYS_SETITIMER = 38, SYS_CLOSE_RANGE = 436, SYS_MREMAP = 25,
            SYS_OPENAT = 257, SYS_NEWFSTATAT = 262, SYS_FSTAT = 5, SYS_CLOCK_GETTIME = 228, SYS_GETDENTS64 = 217,
            SYS_READLINKAT = 267, SYS_SCHED_SETSCHEDULER = 144, SYS_SCHED_GETSCHEDULER = 145;

    // open(2)
    static final int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0100, O_TRUNC = 01000, O_APPEND = 02000,
            O_NONBLOCK = 04000, O_CLOEXEC = 02000000, O_DIRECTORY = 0200000;

    // mmap(2)
    static final long PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
    static final long MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20,
            MAP_GROWSDOWN = 0x100, MAP_NORESERVE = 0x4000, MAP_POPULATE = 0x8000;
    static final long MADV_DONTNEED = 4, MADV_HUGEPAGE = 14, MADV_NOHUGEPAGE = 15;

    // wait
    static final int WNOHANG = 1, WUNTRACED = 2, WSTOPPED = 2, WEXITED = 4, WCONTINUED = 8, WNOWAIT = 0x01000000,
            __WNOTHREAD = 0x20000000, __WALL = 0x40000000;
    static final int P_ALL = 0, P_PID = 1;
    // poll(2)
    static final long SYS_POLL = 7;
    static final short POLLIN = 1;
    static final int CLD_EXITED = 1, CLD_KILLED = 2, CLD_DUMPED = 3, CLD_TRAPPED = 4, CLD_STOPPED = 5, CLD_CONTINUED = 6;

    // ptrace requests
    static final long PTRACE_TRACEME = 0, PTRACE_PEEKDATA = 2, PTRACE_CONT = 7, PTRACE_KILL = 8, PTRACE_SINGLESTEP = 9,
            PTRACE_DETACH = 17, PTRACE_SYSCALL = 24, PTRACE_SETOPTIONS = 0x4200,
            PTRACE_GETEVENTMSG = 0x4201, PTRACE_GETSIGINFO = 0x4202, PTRACE_SETSIGINFO = 0x4203,
            PTRACE_GETREGSET = 0x4204, PTRACE_SETREGSET = 0x4205, PTRACE_SEIZE = 0x4206,
            PTRACE_INTERRUPT = 0x4207, PTRACE_LISTEN = 0x4208, PTRACE_PEEKSIGINFO = 0x4209,
            PTRACE_GETSIGMASK = 0x420a, PTRACE_SETSIGMASK = 0x420b,
            PTRACE_GET_RSEQ_CONFIGURATION = 0x420f;
    static final long PTRACE_O_TRACESYSGOOD = 1, PTRACE_O_TRACEFORK = 2, PTRACE_O_TRACEVFORK = 4,
            PTRACE_O_TRACECLONE = 8, PTRACE_O_TRACEEXEC = 0x10, PTRACE_O_EXITKILL = 0x100000;
    static final int PTRACE_EVENT_FORK = 1, PTRACE_EVENT_VFORK = 2, PTRACE_EVENT_CLONE = 3, PTRACE_EVENT_EXEC = 4,
            PTRACE_EVENT_EXIT = 6, PTRACE_EVENT_STOP = 128;
    static final int PTRACE_PEEKSIGINFO_SHARED = 1;
    static final long NT_PRSTATUS = 1, NT_PRFPREG = 2, NT_X86_XSTATE = 0x202;

    // prctl
    static final long PR_SET_PDEATHSIG = 1, PR_GET_DUMPABLE = 3, PR_SET_NAME = 15, PR_GET_NAME = 16,
            PR_SET_MM = 35, PR_SET_CHILD_SUBREAPER = 36, PR_GET_TID_ADDRESS = 40;
    /** prctl(PR_TIMER_CREATE_RESTORE_IDS, ON|OFF|GET): timer_create takes the id in *created_timer_id (6.13+). */
    static final long PR_TIMER_CREATE_RESTORE_IDS = 77, PR_TIMER_CREATE_RESTORE_IDS_OFF = 0,
            PR_TIMER_CREATE_RESTORE_IDS_ON = 1, PR_TIMER_CREATE_RESTORE_IDS_GET = 2;

    // userfaultfd
    static final long UFFD_USER_MODE_ONLY = 1;
    static final long UFFD_API = 0xAA;
    static final long UFFDIO_API = 0xC018AA3FL, UFFDIO_REGISTER = 0xC020AA00L, UFFDIO_UNREGISTER = 0x8010AA01L,
            UFFDIO_WRITEPROTECT = 0xC018AA06L;
    static final long UFFDIO_REGISTER_MODE_WP = 2, UFFDIO_WRITEPROTECT_MODE_WP = 1;
    static final long UFFD_FEATURE_WP_UNPOPULATED = 1L << 13, UFFD_FEATURE_WP_ASYNC = 1L << 15;

    // pagemap
    static final long PAGEMAP_SCAN = 0xC0606610L;
    static final long PM_SCAN_WP_MATCHING = 1, PM_SCAN_CHECK_WPASYNC = 2;

    // misc
    static final int SIGKILL = 9, SIGSTOP = 19, SIGCONT = 18, SIGCHLD = 17, SIGTRAP = 5, SIGTERM = 15;
    static final short POSIX_SPAWN_SETSIGDEF = 0x04, POSIX_SPAWN_SETSIGMASK = 0x08;
}
