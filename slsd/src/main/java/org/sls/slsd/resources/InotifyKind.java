package org.sls.slsd.resources;

import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.checkpoint.CheckpointException;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.linux.FdCalls;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.NativeException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An inotify instance and its watches: per watch its number (wd), mask and the watched inode as the
 * file handle fdinfo shows. Restore makes the instance in slsd, finds each inode again with
 * {@code open_by_handle_at} (root) and adds its watch through /proc/self/fd, so renamed or
 * moved files are still the ones watched; the kernel hands wds out in increasing order, so a wd is
 * reached by adding and removing the watch until the number matches (as CRIU does), the
 * IN_IGNORED events that leaves are drained, and the instance is installed in every holder.
 *
 * <p>Refused: unread events in the queue (they cannot be read without being consumed; checkpoint
 * again once the process has read them), and a watched inode that cannot be found by its handle.
 * Stateless, thread-safe.
 */
final class InotifyKind implements FdKind {
    private static final String WATCHES = "watches";

    @Override
    public FdImage.Kind kind() { return FdImage.Kind.INOTIFY; }

    @Override
    public boolean supports(FdProbe p, CaptureContext ctx) {
        return p.link().equals("anon_inode:inotify");
    }

    @Override
    public String identity(FdProbe p, CaptureContext ctx) {
        return ctx.sameFileIdentity(p, "inotify");
    }

    /** One watch: wd, inode, superblock device (kernel encoding), mask, handle type and bytes. */
    record Watch(int wd, long ino, long sdev, long mask, int handleType, String handle) {
        String encode() {
            return wd + "," + Long.toHexString(ino) + "," + Long.toHexString(sdev) + "," + Long.toHexString(mask) + ","
                    + handleType + "," + handle;
        }

        static Watch decode(String s) {
            String[] f = s.split(",", -1);
            return new Watch(Integer.parseInt(f[0]), Long.parseLong(f[1], 16), Long.parseLong(f[2], 16),
                    Long.parseLong(f[3], 16), Integer.parseInt(f[4]), f[5]);
        }

        String what() {
            return "watch wd " + wd + " (inode " + ino + " on device " + (sdev >>> 20) + ":" + (sdev & 0xfffff) + ")";
        }
    }

    /** The watches of an fdinfo text ("inotify wd:1 ino:3f7e8 sdev:fe00000 mask:100 ... f_handle:e8f7..."). */
    static List<Watch> watches(String fdinfo) {
        List<Watch> out = new ArrayList<>();
        for (String line : fdinfo.split("\n")) {
            if (!line.startsWith("inotify ")) {
                continue;
            }
            Map<String, String> kv = new LinkedHashMap<>();
            for (String f : line.substring(8).trim().split("\\s+")) {
                int c = f.indexOf(':');
                if (c > 0) {
                    kv.put(f.substring(0, c), f.substring(c + 1));
                }
            }
            out.add(new Watch(Integer.parseInt(kv.get("wd")), Long.parseLong(kv.get("ino"), 16),
                    Long.parseLong(kv.get("sdev"), 16), Long.parseLong(kv.get("mask"), 16),
                    Integer.parseInt(kv.getOrDefault("fhandle-type", "0"), 16), kv.getOrDefault("f_handle", "")));
        }
        return out;
    }

    @Override
    public FdImage capture(FdProbe p, CaptureContext ctx) {
        String id = identity(p, ctx);
        String what = "pid " + p.pid() + " fd " + p.fd() + " (" + p.link() + ")";
        List<Watch> watches = watches(p.fdinfo());
        watches.sort(java.util.Comparator.comparingInt(Watch::wd)); // fdinfo lists the newest first
        if (ctx.firstOf(id)) {
            int queued = queued(p);
            if (queued > 0) {
                throw new CheckpointException(CheckpointException.Kind.UNSUPPORTED_RESOURCE, what + ": " + queued
                        + " bytes of unread inotify events: not supported (they cannot be saved without being "
                        + "consumed); checkpoint again once the process has read them");
            }
            for (Watch w : watches) {
                int f;
                try {
                    f = open(w);
                } catch (RuntimeException e) {
                    throw new CheckpointException(CheckpointException.Kind.UNSUPPORTED_RESOURCE, what + ": " + w.what()
                            + ": its file cannot be found again by its handle (" + e.getMessage() + ")");
                }
                Linux.close(f);
            }
        }
        List<String> enc = new ArrayList<>();
        for (Watch w : watches) {
            enc.add(w.encode());
        }
        return new FdImage(p.fd(), kind(), p.link(), p.flags(), 0, p.mode(), id, Map.of(WATCHES, String.join(";", enc)));
    }

    /** Bytes of events waiting, through slsd's own copy of the fd (the same open file). */
    private static int queued(FdProbe p) {
        int pidfd = Linux.pidfdOpen(p.pid());
        try {
            int copy = Linux.pidfdGetfd(pidfd, p.fd());
            try {
                return FdCalls.bytesQueued(copy);
            } finally {
                Linux.close(copy);
            }
        } finally {
            Linux.close(pidfd);
        }
    }

    /** An O_PATH fd of slsd on the watched inode. */
    private static int open(Watch w) {
        int mnt = FdCalls.open(mountPoint(w.sdev()), FdCalls.O_RDONLY | FdCalls.O_DIRECTORY | FdCalls.O_CLOEXEC);
        try {
            return FdCalls.openByHandle(mnt, w.handleType(), HexFormat.of().parseHex(w.handle()),
                    FdCalls.O_PATH | FdCalls.O_CLOEXEC, w.what());
        } finally {
            Linux.close(mnt);
        }
    }

    /** A mount point of the file system whose superblock device is {@code sdev} (kernel encoding). */
    private static String mountPoint(long sdev) {
        String dev = (sdev >>> 20) + ":" + (sdev & 0xfffff);
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] f = line.split(" ");
                if (f.length > 4 && f[2].equals(dev)) {
                    return unescape(f[4]);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading /proc/self/mountinfo", e);
        }
        throw new IllegalStateException("no file system of device " + dev + " is mounted");
    }

    private static String unescape(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    @Override
    public Outcome restore(FdImage fd, RestoreContext ctx) {
        int file = ctx.sharedFd("inotify:" + fd.identity(), () -> build(fd));
        ctx.install(file, fd);
        return Outcome.DONE;
    }

    private static int build(FdImage fd) {
        List<Watch> watches = new ArrayList<>();
        for (String s : fd.detail(WATCHES, "").split(";")) {
            if (!s.isEmpty()) {
                watches.add(Watch.decode(s));
            }
        }
        watches.sort(java.util.Comparator.comparingInt(Watch::wd));
        int in = FdCalls.inotifyInit(FdCalls.O_NONBLOCK | FdCalls.O_CLOEXEC);
        try {
            for (Watch w : watches) {
                int target;
                try {
                    target = open(w);
                } catch (NativeException e) {
                    throw new IllegalStateException(fd.path() + " fd " + fd.fd() + ": " + w.what()
                            + ": its file is gone (" + e.getMessage() + ")", e);
                }
                try {
                    String path = "/proc/self/fd/" + target;
                    for (;;) {
                        int wd = FdCalls.inotifyAddWatch(in, path, w.mask());
                        if (wd == w.wd()) {
                            break;
                        }
                        FdCalls.inotifyRmWatch(in, wd);
                        if (wd > w.wd()) {
                            throw new IllegalStateException(fd.path() + " fd " + fd.fd() + ": " + w.what()
                                    + ": the kernel handed out wd " + wd + " past it");
                        }
                    }
                } finally {
                    Linux.close(target);
                }
            }
            // the IN_IGNORED events of the watches added only to move the wd counter
            while (FdCalls.read(in, 65536, fd.path() + " (draining)").length > 0) {
                // drained
            }
            FdCalls.fcntl(in, FdCalls.F_SETFL, fd.flags() & ~(FdCalls.O_ACCMODE | FdCalls.O_CLOEXEC), fd.path());
            return in;
        } catch (RuntimeException e) {
            Linux.close(in);
            throw e;
        }
    }
}
