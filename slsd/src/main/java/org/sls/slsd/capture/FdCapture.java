package org.sls.slsd.capture;

import org.sls.slsd.checkpoint.CheckpointException;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.capture.fd.FdKindCapture;
import org.sls.slsd.capture.fd.FdKinds;
import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.resources.CaptureContext;
import org.sls.slsd.resources.ResourceKinds;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Captures the fds of a process through the kinds of {@link FdKinds} (regular files, directories,
 * /dev/null-like devices, std streams on a pipe, terminal or socket). Every other kind is refused,
 * naming pid, fd and kind: {@code pid 4242 fd 7 (anon_inode:[eventfd]): not supported yet}.
 * Stateless.
 */
public final class FdCapture {

    private FdCapture() {}

    public static List<FdImage> capture(int pid) {
        return capture(pid, CaptureContext.single(pid));
    }

    /** With the checkpoint's context: the partition's pids, --external, objects already met (org.sls.slsd.resources). */
    public static List<FdImage> capture(int pid, CaptureContext ctx) {
        List<FdImage> out = new ArrayList<>();
        for (Map.Entry<Integer, String> e : ctx.fdLinks(pid).entrySet()) {
            out.add(capture(pid, e.getKey(), e.getValue(), ctx));
        }
        return out;
    }

    static FdImage capture(int pid, int fd) {
        return capture(pid, fd, CaptureContext.single(pid));
    }

    static FdImage capture(int pid, int fd, CaptureContext ctx) {
        String link = ProcFs.link(pid, "fd/" + fd)
                .orElseThrow(() -> new ProcFs.NoSuchProcessException(pid, null));
        return capture(pid, fd, link, ctx);
    }

    private static FdImage capture(int pid, int fd, String link, CaptureContext ctx) {
        String infoText = ProcFs.fdinfoText(pid, fd);
        Map<String, String> info = ProcFs.fdinfo(infoText);
        int flags = Integer.parseInt(info.getOrDefault("flags", "0"), 8);
        long pos = Long.parseLong(info.getOrDefault("pos", "0"));
        int mode = 0;
        String identity = "";
        long[] st = ctx.fdStat(pid, fd);
        if (st != null) { // else the link text decides below
            mode = (int) st[0];
            identity = Long.toHexString(st[1]) + ":" + st[2];
        }
        FdProbe probe = new FdProbe(pid, fd, link, flags, pos, mode, identity, infoText);
        // the kinds of org.sls.slsd.resources first: they need the partition's context
        return org.sls.slsd.resources.FileLocks.capture(image(probe, ctx), probe, ProcFs.fdLocks(infoText), ctx);
    }

    private static FdImage image(FdProbe probe, CaptureContext ctx) {
        int pid = probe.pid();
        int fd = probe.fd();
        String link = probe.link();
        java.util.Optional<FdImage> resource = ResourceKinds.capture(probe, ctx);
        if (resource.isPresent()) {
            return resource.get();
        }
        if (link.startsWith("/") && link.endsWith(" (deleted)")) {
            throw refuse(pid, fd, link, "deleted, and not a regular file");
        }
        for (FdKindCapture k : FdKinds.all().values()) {
            if (k.matches(probe)) {
                return k.capture(probe);
            }
        }
        throw refuse(pid, fd, link, org.sls.slsd.resources.Refusals.what(link));
    }

    private static CheckpointException refuse(int pid, int fd, String link, String what) {
        return CheckpointException.unsupported(pid, "fd " + fd + " (" + link + (what == null ? "" : ", " + what) + ")");
    }
}
