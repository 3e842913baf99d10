package org.sls.slsd.capture.fd;

/**
 * What /proc tells about one fd of a frozen process, handed to each {@link FdKindCapture}.
 * Immutable.
 *
 * @param link  the /proc/PID/fd/N link text ("/etc/passwd", "pipe:[123]", "anon_inode:[eventfd]")
 * @param flags open flags from fdinfo
 * @param mode  st_mode of the file behind the fd, 0 when it could not be stat'ed
 * @param fdinfo the /proc/PID/fdinfo/N text the flags came from, for the kinds that read more of
 *              it (read once per fd and checkpoint)
 */
public record FdProbe(int pid, int fd, String link, int flags, long pos, int mode, String identity, String fdinfo) {
    public static final int S_IFMT = 0170000, S_IFREG = 0100000, S_IFDIR = 0040000, S_IFCHR = 0020000,
            S_IFIFO = 0010000, S_IFSOCK = 0140000;

    public int type() { return mode & S_IFMT; }

    /** fd 0, 1 or 2. */
    public boolean stdStream() { return fd <= 2; }

    public boolean path() { return link.startsWith("/"); }

    /** {@link #fdinfo} as key → value (the first line of each key). */
    public java.util.Map<String, String> info() { return org.sls.slsd.linux.ProcFs.fdinfo(fdinfo); }
}
