package org.sls.slsd.resources;

import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.checkpoint.CheckpointException;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.linux.FdCalls;
import org.sls.slsd.linux.Linux;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Pipes and FIFOs, with the bytes buffered in them, shared by every holder in the partition.
 *
 * <p>Capture: the bytes are read without being consumed: slsd opens the pipe through
 * /proc/PID/fd/N for reading and {@code tee()}s its buffer into a scratch pipe of the same size,
 * which it then drains; saved once per pipe (on the first fd met) with the pipe's size. A pipe that
 * a process outside the partition also holds is refused, unless the checkpoint is
 * {@code external}: then the partition's ends are reconnected to /dev/null at restore (std streams
 * on such a pipe keep their older treatment, STD_PIPE).
 *
 * <p>Restore: slsd makes the pipe once (pipe2, or the FIFO opened read-write by path), sizes it and
 * refills it, then makes one open file per distinct (pipe, flags) and installs it into every holder
 * with pidfd_getfd, so that fds that shared an open file share it again. slsd's copies are closed
 * when the run ends, so a reader whose writers are gone still sees EOF after the bytes.
 *
 * <p>Stateless, thread-safe.
 */
final class PipeKind implements FdKind {
    private static final Logger log = LoggerFactory.getLogger(PipeKind.class);
    private static final int DEFAULT_SIZE = 65536;

    @Override
    public FdImage.Kind kind() { return FdImage.Kind.PIPE; }

    private static boolean isPipe(FdProbe p) {
        return p.link().startsWith("pipe:") || (p.path() && p.type() == FdProbe.S_IFIFO);
    }

    @Override
    public boolean supports(FdProbe p, CaptureContext ctx) {
        // a std stream on a pipe to the outside stays STD_PIPE (/dev/null at restore), as before
        return isPipe(p) && !(p.stdStream() && !ctx.outsideHolders(p.link()).isEmpty());
    }

    @Override
    public String identity(FdProbe p, CaptureContext ctx) {
        return p.path() ? "fifo:" + p.identity() : p.link();
    }

    @Override
    public FdImage capture(FdProbe p, CaptureContext ctx) {
        String id = identity(p, ctx);
        Map<String, String> d = new LinkedHashMap<>();
        Set<Integer> outside = ctx.outsideHolders(p.link());
        if (!outside.isEmpty()) {
            if (!ctx.external()) {
                throw new CheckpointException(CheckpointException.Kind.UNSUPPORTED_RESOURCE, "pid " + p.pid() + " fd "
                        + p.fd() + " (" + p.link() + "): pipe also held outside the partition by pid "
                        + outside.iterator().next() + (outside.size() > 1 ? " and " + (outside.size() - 1) + " more" : "")
                        + "; checkpoint with --external to reconnect it to /dev/null on restore");
            }
            d.put("external", "true");
            log.info("pid {} fd {} ({}): pipe shared with pids {} outside the partition: restored on /dev/null",
                    p.pid(), p.fd(), p.link(), outside);
            return new FdImage(p.fd(), kind(), p.link(), p.flags(), 0, p.mode(), id, d);
        }
        if ((p.flags() & FdCalls.O_DIRECT) != 0) {
            throw new CheckpointException(CheckpointException.Kind.UNSUPPORTED_RESOURCE, "pid " + p.pid() + " fd "
                    + p.fd() + " (" + p.link() + "): packet-mode pipe (O_DIRECT): not supported yet");
        }
        if (ctx.firstOf(id)) {
            readBuffer(p, d);
        }
        return new FdImage(p.fd(), kind(), p.path() ? p.link() : p.link(), p.flags(), 0, p.mode(), id, d);
    }

    /** Puts the pipe's size and a copy of its bytes (not consumed) into {@code d}. */
    private static void readBuffer(FdProbe p, Map<String, String> d) {
        String what = "pid " + p.pid() + " fd " + p.fd() + " (" + p.link() + ")";
        int fd = FdCalls.open("/proc/" + p.pid() + "/fd/" + p.fd(), FdCalls.O_RDONLY | FdCalls.O_NONBLOCK | FdCalls.O_CLOEXEC);
        try {
            int size = FdCalls.fcntl(fd, FdCalls.F_GETPIPE_SZ, 0, what);
            int queued = FdCalls.bytesQueued(fd);
            d.put("size", Integer.toString(size));
            if (queued == 0) {
                return;
            }
            int[] scratch = FdCalls.pipe(FdCalls.O_CLOEXEC | FdCalls.O_NONBLOCK);
            try {
                FdCalls.fcntl(scratch[1], FdCalls.F_SETPIPE_SZ, size, what + " scratch pipe");
                long copied = FdCalls.tee(fd, scratch[1], queued, what);
                if (copied != queued) {
                    throw new CheckpointException(CheckpointException.Kind.INTERNAL, what + ": tee copied " + copied
                            + " of the " + queued + " bytes buffered in the pipe");
                }
                java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(queued);
                while (out.size() < queued) {
                    byte[] b = FdCalls.read(scratch[0], queued - out.size(), what + " scratch pipe");
                    if (b.length == 0) {
                        break;
                    }
                    out.writeBytes(b);
                }
                d.put("data", Base64.getEncoder().encodeToString(out.toByteArray()));
            } finally {
                Linux.close(scratch[0]);
                Linux.close(scratch[1]);
            }
        } finally {
            Linux.close(fd);
        }
    }

    @Override
    public Outcome restore(FdImage fd, RestoreContext ctx) {
        if (fd.detail("external", "false").equals("true")) {
            log.info("pid {} fd {}: {} was shared with a process outside the partition: connected to /dev/null",
                    ctx.husk().checkpointedPid(), fd.fd(), fd.path());
            ctx.openInHusk("/dev/null", fd.flags() & FdCalls.O_ACCMODE, fd);
            return Outcome.DONE;
        }
        String id = fd.identity();
        int anchor = ctx.sharedFd("pipe-anchor:" + id, () -> anchor(fd, ctx));
        int flags = fd.flags() & ~FdCalls.O_CLOEXEC;
        int file = ctx.sharedFd("pipe-file:" + id + ":" + Integer.toOctalString(flags), () -> {
            int f = FdCalls.open("/proc/self/fd/" + anchor, (flags & FdCalls.O_ACCMODE) | FdCalls.O_NONBLOCK
                    | FdCalls.O_CLOEXEC);
            FdCalls.fcntl(f, FdCalls.F_SETFL, flags & ~FdCalls.O_ACCMODE, id);
            return f;
        });
        ctx.install(file, fd);
        return Outcome.DONE;
    }

    /** Creates the pipe in slsd (read-write for a FIFO), sized and refilled; its other end is kept too. */
    private static int anchor(FdImage fd, RestoreContext ctx) {
        String id = fd.identity();
        FdImage carrier = ctx.carrier(id, "size").orElse(fd);
        int size = Integer.parseInt(carrier.detail("size", Integer.toString(DEFAULT_SIZE)));
        byte[] data = Base64.getDecoder().decode(carrier.detail("data", ""));
        int r;
        int w;
        if (id.startsWith("fifo:")) {
            r = FdCalls.open(fd.path(), FdCalls.O_RDWR | FdCalls.O_NONBLOCK | FdCalls.O_CLOEXEC);
            w = r;
        } else {
            int[] p = FdCalls.pipe(FdCalls.O_CLOEXEC | FdCalls.O_NONBLOCK);
            r = p[0];
            w = p[1];
            ctx.sharedFd("pipe-anchor-w:" + id, () -> p[1]);
        }
        if (size != DEFAULT_SIZE) {
            FdCalls.fcntl(w, FdCalls.F_SETPIPE_SZ, size, id + " (size " + size + ")");
        }
        if (data.length > 0) {
            FdCalls.writeAll(w, data, id + " (" + data.length + " buffered bytes)");
        }
        return r;
    }
}
