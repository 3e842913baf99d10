package org.sls.slsd.restore;

import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.checkpoint.manifest.SharedMemoryImage;
import org.sls.slsd.checkpoint.manifest.Manifest;
import org.sls.slsd.checkpoint.manifest.ProcessImage;
import org.sls.slsd.checkpoint.manifest.RegionImage;
import org.sls.slsd.checkpoint.manifest.ThreadImage;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.RestoreCalls;
import org.sls.slsd.linux.Vma;
import org.sls.slsd.restore.RestoreException.Kind;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What a restore verifies before it builds anything (so that a refusal leaves no trace): the
 * caller owns the processes, their PIDs and TIDs are free, the running kernel's [vdso] and [vvar]
 * have the checkpoint's sizes, and every file a mapping or fd needs is still the file that was
 * checkpointed (device and inode; the manifest records neither size nor mtime). Stateless.
 */
final class Checks {
    private static final Logger log = LoggerFactory.getLogger(Checks.class);

    private Checks() {}

    static void all(Manifest m, boolean newPids, int callerUid) {
        for (ProcessImage p : m.processes()) {
            permission(p, callerUid);
            supported(p);
        }
        if (!newPids) {
            for (ProcessImage p : m.processes()) {
                for (ThreadImage t : p.threads()) {
                    pidFree(p.pid(), t.tid());
                }
            }
        }
        vdso(m);
        for (ProcessImage p : m.processes()) {
            files(p);
        }
        for (SharedMemoryImage s : m.sharedMemory()) {
            liveShm(m.processes().get(0).pid(), s);
        }
    }

    /** A POSIX shm object that still exists must be the one checkpointed (when gone it is recreated). */
    private static void liveShm(int pid, SharedMemoryImage s) {
        if (s.deleted() || !s.path().startsWith("/dev/shm/") || !Files.exists(Path.of(s.path()), LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        mappedFile(pid, s.path(), s.identity());
    }

    static String who(int pid) {
        return "restore of pid " + pid;
    }

    private static void permission(ProcessImage p, int callerUid) {
        if (callerUid == 0) {
            return;
        }
        List<Integer> uids = p.credentials().uids();
        for (int u : uids.subList(0, Math.min(3, uids.size()))) {
            if (u != callerUid) {
                throw new RestoreException(Kind.PERMISSION, who(p.pid()) + ": it ran as uid " + u
                        + ", the caller is uid " + callerUid);
            }
        }
    }

    private static void supported(ProcessImage p) {
        for (FdImage fd : p.fds()) {
            if (fd.kind() == null) {
                throw new RestoreException(Kind.UNSUPPORTED, who(p.pid()) + ": fd " + fd.fd() + " (" + fd.path()
                        + ") is of a kind this version cannot restore");
            }
        }
        for (RegionImage r : p.regions()) {
            if (r.kind() == null) {
                throw new RestoreException(Kind.UNSUPPORTED, who(p.pid()) + ": mapping " + Hexes.range(r) + " "
                        + r.path() + " is of a kind this version cannot restore");
            }
        }
    }

    /** Fails naming the PID and who holds it: "PID 4242 is taken by pid 4242 (sleep)". */
    static void pidFree(int pid, int tid) {
        if (!ProcFs.exists(tid)) {
            return;
        }
        String holder;
        try {
            Map<String, String> st = ProcFs.status(tid);
            int tgid = Integer.parseInt(st.getOrDefault("Tgid", String.valueOf(tid)));
            String name = st.getOrDefault("Name", "?");
            String state = st.getOrDefault("State", "");
            holder = (tgid == tid ? "pid " + tid : "thread " + tid + " of pid " + tgid) + " (" + name + ")"
                    + (state.startsWith("Z") ? ", a zombie not yet reaped" : "");
        } catch (RuntimeException e) {
            holder = "a process that just exited";
        }
        throw new RestoreException(Kind.PID_TAKEN, who(pid) + ": " + (tid == pid ? "PID " : "TID ") + tid
                + " is taken by " + holder);
    }

    /** The sizes of the running kernel's special mappings, read from slsd's own maps. */
    static Map<RegionImage.Kind, Long> kernelSpecials() {
        Map<RegionImage.Kind, Long> out = new EnumMap<>(RegionImage.Kind.class);
        for (Vma v : ProcFs.maps(Linux.getpid())) {
            RegionImage.Kind k = specialKind(v.path());
            if (k != null) {
                out.put(k, v.length());
            }
        }
        return out;
    }

    static RegionImage.Kind specialKind(String path) {
        return switch (path) {
            case "[vdso]" -> RegionImage.Kind.VDSO;
            case "[vvar]" -> RegionImage.Kind.VVAR;
            case "[vvar_vclock]" -> RegionImage.Kind.VVAR_VCLOCK;
            default -> null;
        };
    }

    private static void vdso(Manifest m) {
        Map<RegionImage.Kind, Long> now = kernelSpecials();
        if (m.kernelRelease() != null && !m.kernelRelease().equals(Linux.kernelRelease())) {
            // same sizes are all the kernel lets us check; code inside [vdso] may still differ
            log.warn("partition {} epoch {} was checkpointed on kernel {}, restoring on {}", m.partition(), m.epoch(),
                    m.kernelRelease(), Linux.kernelRelease());
        }
        for (ProcessImage p : m.processes()) {
            for (RegionImage r : p.regions()) {
                if (r.kind() == RegionImage.Kind.VDSO || r.kind() == RegionImage.Kind.VVAR
                        || r.kind() == RegionImage.Kind.VVAR_VCLOCK) {
                    Long size = now.get(r.kind());
                    if (size == null || size != r.length()) {
                        throw new RestoreException(Kind.VDSO_MISMATCH, who(p.pid()) + ": the checkpoint's " + r.path()
                                + " is " + r.length() + " bytes, the running kernel's "
                                + (size == null ? "does not exist" : "is " + size + " bytes")
                                + " (checkpointed on kernel " + m.kernelRelease() + ", running "
                                + Linux.kernelRelease() + "); a vdso proxy is future work");
                    }
                }
            }
        }
    }

    private static void files(ProcessImage p) {
        Map<String, String> checked = new HashMap<>();
        for (RegionImage r : p.regions()) {
            if ((r.kind() == RegionImage.Kind.FILE_PRIVATE || r.kind() == RegionImage.Kind.FILE_SHARED)
                    && !r.path().endsWith(" (deleted)")) { // a deleted file's content is in the checkpoint
                if (checked.put(r.path(), r.identity()) == null) {
                    mappedFile(p.pid(), r.path(), r.identity());
                }
            }
        }
        for (FdImage fd : p.fds()) {
            if (fd.kind() == FdImage.Kind.REGULAR || fd.kind() == FdImage.Kind.DIRECTORY) {
                openFile(p.pid(), fd);
            }
        }
        if (!p.exe().isEmpty() && !Files.exists(Path.of(p.exe()))) {
            throw new RestoreException(Kind.FILE_CHANGED, who(p.pid()) + ": its executable " + p.exe()
                    + " vanished since the checkpoint");
        }
    }

    /** {@code identity} as /proc/PID/maps shows it: "major:minor:inode", major and minor in hex. */
    private static void mappedFile(int pid, String path, String identity) {
        long[] st = stat(pid, path);
        String[] f = identity.split(":");
        if (f.length != 3) {
            return;
        }
        long major = Long.parseLong(f[0], 16);
        long minor = Long.parseLong(f[1], 16);
        long inode = Long.parseLong(f[2]);
        if (RestoreCalls.major(st[0]) != major || RestoreCalls.minor(st[0]) != minor || st[1] != inode) {
            throw new RestoreException(Kind.FILE_CHANGED, who(pid) + ": " + path + " changed since the checkpoint"
                    + " (inode " + inode + " -> " + st[1] + (RestoreCalls.major(st[0]) != major
                    || RestoreCalls.minor(st[0]) != minor ? ", device " + Long.toHexString(major) + ":"
                    + Long.toHexString(minor) + " -> " + Long.toHexString(RestoreCalls.major(st[0])) + ":"
                    + Long.toHexString(RestoreCalls.minor(st[0])) : "") + ")");
        }
    }

    /** fd identity as the capture records it: "hex(st_dev):inode". */
    private static void openFile(int pid, FdImage fd) {
        long[] st = stat(pid, fd.path());
        if (fd.identity() == null || fd.identity().isEmpty()) {
            return;
        }
        String[] f = fd.identity().split(":");
        long dev = Long.parseUnsignedLong(f[0], 16);
        long inode = Long.parseLong(f[1]);
        if (st[0] != dev || st[1] != inode) {
            throw new RestoreException(Kind.FILE_CHANGED, who(pid) + ": " + fd.path() + " (fd " + fd.fd()
                    + ") changed since the checkpoint (inode " + inode + " -> " + st[1] + ")");
        }
    }

    private static long[] stat(int pid, String path) {
        try {
            Path p = Path.of(path);
            long dev = (Long) Files.getAttribute(p, "unix:dev", LinkOption.NOFOLLOW_LINKS);
            long ino = (Long) Files.getAttribute(p, "unix:ino", LinkOption.NOFOLLOW_LINKS);
            return new long[] {dev, ino};
        } catch (NoSuchFileException e) {
            throw new RestoreException(Kind.FILE_CHANGED, who(pid) + ": " + path + " vanished since the checkpoint");
        } catch (IOException | RuntimeException e) {
            log.debug("stat {}: {}", path, e.toString());
            throw new RestoreException(Kind.FILE_CHANGED, who(pid) + ": " + path + " cannot be checked: " + e.getMessage());
        }
    }
}
