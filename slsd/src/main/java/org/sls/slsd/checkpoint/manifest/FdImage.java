package org.sls.slsd.checkpoint.manifest;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.Map;

/**
 * One file descriptor as captured. Immutable.
 *
 * @param kind   what the fd refers to
 * @param path   the file (for std-stream pipes/ttys/sockets: the /proc link text, e.g. "pipe:[1234]")
 * @param flags  open flags from fdinfo (O_ACCMODE, O_APPEND, O_NONBLOCK, O_CLOEXEC...)
 * @param offset file position
 * @param mode   st_mode of the file (type and permission bits), 0 when unknown
 * @param details what a kind of {@code org.sls.slsd.resources} keeps beyond these fields (a pipe's
 *               buffered bytes, an eventfd's counter, an epoll's interest list), as strings so that
 *               the manifest stays readable; null for the kinds that need nothing (and in manifests
 *               written before it existed)
 */
public record FdImage(int fd, Kind kind, String path, int flags, long offset, int mode, String identity,
                      @JsonInclude(JsonInclude.Include.NON_NULL) Map<String, String> details) {

    public FdImage(int fd, Kind kind, String path, int flags, long offset, int mode, String identity) {
        this(fd, kind, path, flags, offset, mode, identity, null);
    }

    /** A detail, or {@code def} when absent. */
    public String detail(String key, String def) {
        return details == null ? def : details.getOrDefault(key, def);
    }

    /** The fd kinds this version captures; every other kind is refused at checkpoint time. */
    public enum Kind {
        REGULAR,
        DIRECTORY,
        /** /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom */
        CHAR_DEVICE,
        /** fd 0-2 on a pipe outside the partition: restored on /dev/null (or a console) */
        STD_PIPE,
        /** fd 0-2 on a terminal that is not a pseudo-terminal (a virtual console, a serial line): restored on /dev/null */
        STD_TTY,
        /** fd 0-2 on a socket: restored on /dev/null */
        STD_SOCKET,
        /** a pipe or FIFO with its buffered bytes, shared by every holder in the partition (resources.PipeKind) */
        PIPE,
        /** an eventfd and its counter (resources.EventFdKind) */
        EVENTFD,
        /** a timerfd: clock, remaining time, interval, unread ticks (resources.TimerFdKind) */
        TIMERFD,
        /** a signalfd and its mask (resources.SignalFdKind) */
        SIGNALFD,
        /** an epoll instance and its interest list, restored once its targets exist (resources.EpollKind) */
        EPOLL,
        /** a connection to slsd's control socket, restored with its peer closed, carrying the answer to a self-checkpoint (resources.SlsControlKind) */
        SLS_CONTROL,
        /** a unix socket: a connected pair inside the partition with its queues, a listener, or an unconnected one (resources.UnixSocketKind) */
        UNIX_SOCKET,
        /** a TCP socket: a listener, a connection (TCP_REPAIR inside the partition; closed to a peer outside), or unconnected (resources.TcpSocketKind) */
        TCP_SOCKET,
        /** a UDP socket, bound and connected or not (resources.UdpSocketKind) */
        UDP_SOCKET,
        /** a memfd: name, seals, content shared with its mappings (resources.MemfdKind) */
        MEMFD,
        /** a regular file deleted while open: its content is in the checkpoint (resources.DeletedFileKind) */
        DELETED_FILE,
        /** a POSIX shm object in /dev/shm, recreated from the checkpoint when gone (resources.PosixShmKind) */
        POSIX_SHM,
        /** an inotify instance and its watches, same wd numbers (resources.InotifyKind) */
        INOTIFY,
        /** a pidfd on a process of the partition (resources.PidfdKind) */
        PIDFD,
        /** a pseudo-terminal: a slave (or /dev/tty leading to one) whose master is outside the partition, restored on a new pty slsd keeps; or either end of one the partition hosts (resources.PtyKind) */
        PTY
    }
}
