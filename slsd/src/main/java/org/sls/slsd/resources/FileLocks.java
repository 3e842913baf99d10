package org.sls.slsd.resources;

import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.checkpoint.CheckpointException;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.linux.NativeException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * File locks held through an fd: flock locks, POSIX (fcntl) record locks and open file description
 * (OFD) locks, read from the fd's "lock:" lines in /proc/PID/fdinfo (which list the locks taken
 * through that open file: a POSIX lock under the process that owns it, a flock or OFD lock under
 * every fd of the description that owns it). Kept as the fd image's {@value #LOCKS} detail, and
 * taken again in the restored process by injected {@code flock}/{@code fcntl} once its fds are in
 * place, non-blocking: a lock someone else took meanwhile fails the restore, naming it. A flock or
 * OFD lock is retaken once per open file description of the checkpoint ({@value #OWNER} detail),
 * which every fd that shared it shares again.
 * Leases are refused. Stateless, thread-safe.
 */
public final class FileLocks {
    static final String LOCKS = "locks", OWNER = "lockOwner";
    private static final long SYS_FCNTL = 72, SYS_FLOCK = 73;
    private static final int F_SETLK = 6, F_OFD_SETLK = 37, F_RDLCK = 0, F_WRLCK = 1;
    private static final int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4;
    private static final int EAGAIN = 11, EWOULDBLOCK = 11;

    private FileLocks() {}

    /**
     * The image with its locks ({@code lines}: the fd's fdinfo "lock:" lines) added, unchanged when it
     * holds none. Refuses a lease, naming pid and fd.
     */
    public static FdImage capture(FdImage img, FdProbe p, List<String> lines, CaptureContext ctx) {
        if (lines.isEmpty()) {
            return img;
        }
        List<String> locks = new ArrayList<>();
        for (String line : lines) {
            // "1: POSIX  ADVISORY  WRITE 1234 fe:00:5678 0 EOF"
            String[] f = line.trim().split("\\s+");
            if (f.length < 8 || !(f[1].equals("POSIX") || f[1].equals("FLOCK") || f[1].equals("OFDLCK"))) {
                throw CheckpointException.unsupported(p.pid(), "fd " + p.fd() + " (" + p.link() + ", "
                        + (f.length > 1 ? f[1].toLowerCase() : "lock") + ": " + line + ")");
            }
            if (!f[3].equals("READ") && !f[3].equals("WRITE")) {
                throw CheckpointException.unsupported(p.pid(), "fd " + p.fd() + " (" + p.link() + ", lock " + line + ")");
            }
            locks.add(f[1] + ":" + f[3] + ":" + f[6] + ":" + f[7]);
        }
        Map<String, String> d = new LinkedHashMap<>(img.details() == null ? Map.of() : img.details());
        d.put(LOCKS, String.join(";", locks));
        d.put(OWNER, ctx.sameFileIdentity(p, "lock"));
        return new FdImage(img.fd(), img.kind(), img.path(), img.flags(), img.offset(), img.mode(), img.identity(), d);
    }

    /**
     * Takes the locks of every fd of the husk again (its fds are all in place). A flock or OFD lock
     * belongs to an open file description: the first fd of the run that holds one takes its locks
     * and slsd keeps that description; every other fd of the checkpoint on the same description
     * (a dup, a forked child's copy) is replaced by it, so that they share the lock (and offset)
     * again and any of them can release it.
     */
    static void retake(List<FdImage> fds, RestoreContext ctx) {
        HuskCalls h = ctx.husk();
        for (FdImage fd : fds) {
            String all = fd.detail(LOCKS, "");
            if (all.isEmpty()) {
                continue;
            }
            String description = "lock-description:" + fd.detail(OWNER, "");
            java.util.Optional<Integer> shared = ctx.kept(description);
            boolean owns = false;
            for (String lock : all.split(";")) {
                String[] f = lock.split(":");
                if (!f[0].equals("POSIX")) {
                    if (shared.isPresent()) {
                        continue; // held by the description this fd is about to share
                    }
                    owns = true;
                }
                take(h, fd, f);
            }
            if (shared.isPresent()) {
                ctx.install(shared.get(), fd);
            } else if (owns) {
                ctx.keepFromHusk(description, fd.fd());
            }
        }
    }

    private static void take(HuskCalls h, FdImage fd, String[] f) {
        boolean write = f[1].equals("WRITE");
        String what = "pid " + h.checkpointedPid() + " fd " + fd.fd() + " (" + fd.path() + "): "
                + f[0].toLowerCase() + " " + f[1].toLowerCase() + " lock " + f[2] + "-" + f[3];
        try {
            if (f[0].equals("FLOCK")) {
                h.call("flock " + what, SYS_FLOCK, fd.fd(), (write ? LOCK_EX : LOCK_SH) | LOCK_NB);
            } else {
                long start = Long.parseLong(f[2]);
                long len = f[3].equals("EOF") ? 0 : Long.parseLong(f[3]) - start + 1;
                long arg = h.data(flock(write ? F_WRLCK : F_RDLCK, start, len));
                h.call("fcntl " + what, SYS_FCNTL, fd.fd(), f[0].equals("POSIX") ? F_SETLK : F_OFD_SETLK, arg);
            }
        } catch (NativeException e) {
            throw new IllegalStateException(what + ": cannot be taken again ("
                    + NativeException.errnoName(e.errno()) + (e.errno() == EAGAIN || e.errno() == EWOULDBLOCK
                    ? "): another process holds a conflicting lock" : ")"), e);
        }
    }

    /** struct flock (x86-64): l_type, l_whence (SEEK_SET), l_start, l_len, l_pid 0. */
    private static byte[] flock(int type, long start, long len) {
        ByteBuffer b = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort(0, (short) type);
        b.putShort(2, (short) 0);
        b.putLong(8, start);
        b.putLong(16, len);
        b.putInt(24, 0);
        return b.array();
    }
}
