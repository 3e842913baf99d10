package org.sls.slsd.linux;

/** The errno values slsd acts upon (x86-64 Linux). Constants only. */
public final class Errno {
    public static final int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, EBADF = 9,
            ECHILD = 10, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14, EBUSY = 16, EEXIST = 17,
            EINVAL = 22, ENOSYS = 38, ENOTTY = 25, EOPNOTSUPP = 95, ENOTCONN = 107;
    /** Kernel-internal restart codes a stopped thread may show in rax. */
    public static final int ERESTARTSYS = 512, ERESTARTNOINTR = 513, ERESTARTNOHAND = 514,
            ERESTART_RESTARTBLOCK = 516;

    private Errno() {}
}
