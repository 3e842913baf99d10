package org.sls.slsd.resources;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sls.libsls.protocol.Codec;
import org.sls.libsls.protocol.Response;
import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.linux.FdCalls;
import org.sls.slsd.linux.FdCalls.UnixSocket;
import org.sls.slsd.linux.Linux;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A process's connection to slsd's control socket (libsls's {@code SlsClient}, or any client of
 * {@code docs/protocol.md}): a unix stream socket whose peer is a connection slsd accepted (a
 * socket that slsd holds and that carries the name of its listening socket). The other end lives
 * in slsd, outside every partition, and does not come back: at restore the fd is one end of a
 * fresh socketpair whose other end is closed at once, so the process reads what was queued and
 * then EOF, and a write fails (EPIPE): libsls then connects again.
 * <p>What is queued depends on the role:
 * <ul>
 * <li>{@code self}: the connection on which this very checkpoint was asked for ({@code checkpoint}
 * with {@code self}). The caller's thread is blocked reading the answer; the restored process reads
 * {@code {"partition":P,"epoch":E,"restored":true}} for the same request id, as if the call had
 * returned a second time (fork-like), while the live caller is answered {@code "restored":false}.</li>
 * <li>{@code idle}: any other connection to slsd: the bytes slsd had sent that the process had not
 * read yet (an answer in flight), then EOF.</li>
 * </ul>
 * Stateless, thread-safe.
 */
final class SlsControlKind implements FdKind {

    @Override
    public FdImage.Kind kind() { return FdImage.Kind.SLS_CONTROL; }

    private static long ino(FdProbe p) {
        String l = p.link();
        return Long.parseLong(l.substring("socket:[".length(), l.length() - 1));
    }

    @Override
    public boolean supports(FdProbe p, CaptureContext ctx) {
        if (!p.link().startsWith("socket:[")) {
            return false;
        }
        UnixSocket s = ctx.unixSocket(ino(p));
        if (s == null || s.type() != FdCalls.SOCK_STREAM || s.peer() == 0 || !ctx.slsdSockets().contains(s.peer())) {
            return false;
        }
        UnixSocket peer = ctx.unixSockets().get(s.peer());
        // accepted connections carry their listener's name; slsd's own socketpairs (a restore in flight) have none
        return peer != null && !peer.name().isEmpty() && peer.peer() == s.ino();
    }

    @Override
    public String identity(FdProbe p, CaptureContext ctx) {
        return "slsd-control:" + ino(p);
    }

    @Override
    public FdImage capture(FdProbe p, CaptureContext ctx) {
        UnixSocket s = ctx.unixSockets().get(ino(p));
        Map<String, String> d = new LinkedHashMap<>();
        d.put("slsd", ctx.unixSockets().get(s.peer()).name());
        if (ctx.selfCall().isPresent() && ctx.selfCall().get().connection() == s.peer()) {
            d.put("role", "self");
            d.put("request", Long.toString(ctx.selfCall().get().requestId()));
            ctx.selfCallMet();
        } else {
            d.put("role", "idle");
            if (s.rqueue() > 0 && ctx.firstOf(identity(p, ctx))) {
                d.put("queued", UnixSocketKind.peek(p, s));
            }
        }
        return new FdImage(p.fd(), kind(), p.link(), p.flags(), 0, p.mode(), identity(p, ctx), d);
    }

    @Override
    public Outcome restore(FdImage fd, RestoreContext ctx) {
        int file = ctx.sharedFd(fd.identity(), () -> {
            // non-blocking while slsd queues, so that an oversized queue fails instead of hanging the restore
            int[] sp = FdCalls.socketpair(FdCalls.SOCK_STREAM, FdCalls.O_CLOEXEC | FdCalls.O_NONBLOCK);
            try {
                byte[] queued = fd.detail("role", "idle").equals("self") ? answer(fd, ctx) : queued(fd, ctx);
                if (queued.length > 0) {
                    FdCalls.send(sp[1], queued, "pid " + ctx.husk().checkpointedPid() + " fd " + fd.fd() + " (slsd connection)");
                }
            } catch (RuntimeException e) {
                Linux.close(sp[0]);
                throw e;
            } finally {
                Linux.close(sp[1]); // slsd's end is gone: after what is queued, the process reads EOF
            }
            return sp[0];
        });
        FdCalls.fcntl(file, FdCalls.F_SETFL, fd.flags() & ~FdCalls.O_CLOEXEC & ~FdCalls.O_ACCMODE, fd.identity());
        ctx.install(file, fd);
        return Outcome.DONE;
    }

    /** The answer to the self-checkpoint request, as the restored process reads it: {@code restored: true}. */
    private static byte[] answer(FdImage fd, RestoreContext ctx) {
        ObjectNode result = Codec.MAPPER.createObjectNode();
        result.put("partition", ctx.partition());
        result.put("epoch", ctx.epoch());
        result.put("restored", true);
        long id = Long.parseLong(fd.detail("request", "0"));
        return (Codec.encode(Response.success(id, result)) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] queued(FdImage fd, RestoreContext ctx) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        String queued = ctx.carrier(fd.identity(), "queued").map(f -> f.detail("queued", "")).orElse("");
        for (byte[] m : UnixSocketKind.messages(queued)) {
            out.writeBytes(m);
        }
        return out.toByteArray();
    }
}
