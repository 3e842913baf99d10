package org.sls.slsd.checkpoint.manifest;

/**
 * One file descriptor as captured. Immutable.
 *
 * @param kind   what the fd refers to
 * @param path   the file (for std-stream pipes/ttys/sockets: the /proc link text, e.g. "pipe:[1234]")
 * @param flags  open flags from fdinfo (O_ACCMODE, O_APPEND, O_NONBLOCK, O_CLOEXEC...)
 * @param offset file position
 * @param mode   st_mode of the file (type and permission bits), 0 when unknown
 */
public record FdImage(int fd, Kind kind, String path, int flags, long offset, int mode, String identity) {

    /** The fd kinds this version captures; every other kind is refused at checkpoint time. */
    public enum Kind {
        REGULAR,
        DIRECTORY,
        /** /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom */
        CHAR_DEVICE,
        /** fd 0-2 on a pipe outside the partition: restored on /dev/null (or a console) */
        STD_PIPE,
        /** fd 0-2 on a terminal: restored on /dev/null (or a console) */
        STD_TTY,
        /** fd 0-2 on a socket: restored on /dev/null */
        STD_SOCKET
    }
}
