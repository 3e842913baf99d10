package org.sls.slsd.capture;

import org.sls.slsd.checkpoint.CheckpointException;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.checkpoint.manifest.FdImage.Kind;
import org.sls.slsd.linux.ProcFs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Captures the fds of a process: regular files and directories (path, flags, offset, mode),
 * /dev/null-like character devices, and std streams (fd 0-2) on a pipe, terminal or socket, which
 * restore reconnects to /dev/null or a console. Every other kind is refused, naming pid, fd and
 * kind: {@code pid 4242 fd 7 (anon_inode:[eventfd]): not supported yet}. Stateless.
 */
public final class FdCapture {
    private static final Set<String> NULL_LIKE = Set.of("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom");
    private static final int S_IFMT = 0170000, S_IFREG = 0100000, S_IFDIR = 0040000, S_IFCHR = 0020000,
            S_IFIFO = 0010000, S_IFSOCK = 0140000;

    private FdCapture() {}

    public static List<FdImage> capture(int pid) {
        List<FdImage> out = new ArrayList<>();
        for (int fd : ProcFs.fds(pid)) {
            out.add(capture(pid, fd));
        }
        return out;
    }

    static FdImage capture(int pid, int fd) {
        String link = ProcFs.link(pid, "fd/" + fd)
                .orElseThrow(() -> new ProcFs.NoSuchProcessException(pid, null));
        Map<String, String> info = ProcFs.fdinfo(pid, fd);
        int flags = Integer.parseInt(info.getOrDefault("flags", "0"), 8);
        long pos = Long.parseLong(info.getOrDefault("pos", "0"));
        int mode = 0;
        String identity = "";
        try {
            Path p = Path.of("/proc", Integer.toString(pid), "fd", Integer.toString(fd));
            mode = (Integer) Files.getAttribute(p, "unix:mode");
            identity = Long.toHexString((Long) Files.getAttribute(p, "unix:dev")) + ":" + Files.getAttribute(p, "unix:ino");
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            // anon inodes cannot be stat'ed through every path; the link text decides below
        }
        boolean std = fd <= 2;
        int type = mode & S_IFMT;
        if (link.startsWith("/")) {
            if (link.endsWith(" (deleted)")) {
                throw refuse(pid, fd, link, "deleted file");
            }
            if (type == S_IFREG) {
                return new FdImage(fd, Kind.REGULAR, link, flags, pos, mode, identity);
            }
            if (type == S_IFDIR) {
                return new FdImage(fd, Kind.DIRECTORY, link, flags, pos, mode, identity);
            }
            if (type == S_IFCHR && NULL_LIKE.contains(link)) {
                return new FdImage(fd, Kind.CHAR_DEVICE, link, flags, 0, mode, identity);
            }
            if (type == S_IFCHR && std && (link.startsWith("/dev/pts/") || link.startsWith("/dev/tty") || link.equals("/dev/console"))) {
                return new FdImage(fd, Kind.STD_TTY, link, flags, 0, mode, identity);
            }
            if (type == S_IFIFO && std) {
                return new FdImage(fd, Kind.STD_PIPE, link, flags, 0, mode, identity);
            }
            throw refuse(pid, fd, link, null);
        }
        if (std && link.startsWith("pipe:")) {
            return new FdImage(fd, Kind.STD_PIPE, link, flags, 0, mode, identity);
        }
        if (std && link.startsWith("socket:")) {
            return new FdImage(fd, Kind.STD_SOCKET, link, flags, 0, mode, identity);
        }
        throw refuse(pid, fd, link, null);
    }

    private static CheckpointException refuse(int pid, int fd, String link, String what) {
        return CheckpointException.unsupported(pid, "fd " + fd + " (" + link + (what == null ? "" : ", " + what) + ")");
    }
}
