package org.sls.slsd.control;

import com.fasterxml.jackson.databind.JsonNode;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.sls.libsls.protocol.Codec;
import org.sls.libsls.protocol.ErrorCode;
import org.sls.libsls.protocol.Protocol;
import org.sls.libsls.protocol.Request;
import org.sls.libsls.protocol.Response;
import org.sls.libsls.protocol.SlsError;
import org.sls.libsls.protocol.SlsException;
import org.sls.slsd.linux.FdCalls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * slsd's control socket: accepts connections on a Unix stream socket, reads one JSON request
 * per line, dispatches it to the {@link Handler} registered for its operation and writes one
 * response line. A malformed line gets an error response and the connection stays open; a line
 * longer than {@link Protocol#MAX_LINE_BYTES} gets an error and the connection is closed, since
 * the stream can no longer be framed. Thread-safe; one thread per connection, bounded.
 */
public final class ControlServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ControlServer.class);
    private static final int MAX_CONNECTIONS = 64;

    private final Path socketPath;
    private final Map<String, Handler> handlers;
    private final Map<String, StreamHandler> streams;
    private final ServerSocketChannel server;
    private final ExecutorService workers;
    private final Semaphore slots = new Semaphore(MAX_CONNECTIONS);
    private final Set<SocketChannel> open = ConcurrentHashMap.newKeySet();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Thread acceptor;
    private volatile boolean closing;

    /**
     * Binds {@code socketPath} (creating its directory, mode 0660 on the socket). A stale socket
     * file is replaced; one that another daemon answers on is refused.
     */
    public ControlServer(Path socketPath, Map<String, Handler> handlers) throws IOException {
        this(socketPath, handlers, Map.of());
    }

    /** With operations that turn their connection into a byte stream once answered ({@link StreamHandler}). */
    public ControlServer(Path socketPath, Map<String, Handler> handlers, Map<String, StreamHandler> streams) throws IOException {
        this.socketPath = socketPath;
        this.handlers = Map.copyOf(handlers);
        this.streams = Map.copyOf(streams);
        Path dir = socketPath.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        if (Files.exists(socketPath)) {
            if (answers(socketPath)) {
                throw new IOException("socket " + socketPath + " is in use by another slsd");
            }
            Files.delete(socketPath);
            log.info("removed stale socket {}", socketPath);
        }
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socketPath));
        Files.setPosixFilePermissions(socketPath, PosixFilePermissions.fromString("rw-rw----"));
        workers = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "slsd-conn");
            t.setDaemon(true);
            return t;
        });
        acceptor = new Thread(this::acceptLoop, "slsd-accept");
        acceptor.setDaemon(true);
    }

    /** Starts accepting connections. */
    public void start() {
        acceptor.start();
        log.info("listening on {}", socketPath);
    }

    private static boolean answers(Path socket) {
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            probe.connect(UnixDomainSocketAddress.of(socket));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private void acceptLoop() {
        while (!closing) {
            SocketChannel channel;
            try {
                channel = server.accept();
            } catch (AsynchronousCloseException e) {
                return;
            } catch (IOException e) {
                if (!closing) {
                    log.warn("accept on {} failed: {}", socketPath, e.getMessage());
                }
                return;
            }
            if (!slots.tryAcquire()) {
                reject(channel);
                continue;
            }
            open.add(channel);
            workers.execute(() -> {
                try {
                    serve(channel);
                } finally {
                    open.remove(channel);
                    closeQuietly(channel);
                    slots.release();
                }
            });
        }
    }

    private void reject(SocketChannel channel) {
        log.warn("refusing a connection: {} connections already open", MAX_CONNECTIONS);
        try (channel) {
            writeLine(Channels.newOutputStream(channel), Response.failure(0,
                    new SlsError(ErrorCode.BUSY, "slsd already serves " + MAX_CONNECTIONS + " connections; try again")));
        } catch (IOException ignored) {
            // the client is gone: nothing to tell it
        }
    }

    private void serve(SocketChannel channel) {
        Caller caller;
        try {
            caller = callerOf(channel);
        } catch (IOException e) {
            log.warn("cannot read peer credentials: {}", e.getMessage());
            return;
        }
        InputStream in = Channels.newInputStream(channel);
        OutputStream out = Channels.newOutputStream(channel);
        try {
            while (!closing) {
                String line;
                try {
                    line = readLine(in);
                } catch (LineTooLongException e) {
                    writeLine(out, Response.failure(0, new SlsError(ErrorCode.BAD_REQUEST,
                            "request longer than " + Protocol.MAX_LINE_BYTES + " bytes; closing the connection")));
                    discardRestOfLine(in);
                    return;
                }
                if (line == null) {
                    return;
                }
                if (line.isBlank()) {
                    continue;
                }
                StreamHandler.Session session = streamSession(line, caller, out);
                if (session == NOTHING) {
                    continue; // refused, and answered
                }
                if (session != null) {
                    session.run(channel);
                    return; // the stream is over: the connection closes
                }
                writeLine(out, dispatch(line, caller));
            }
        } catch (IOException e) {
            log.debug("connection from uid {} ended: {}", caller.uid(), e.getMessage());
        }
    }

    /**
     * When the line asks for a streaming operation: answers it and returns the session that
     * serves the connection next (null when the operation failed, its error answered). Null for
     * other operations, untouched.
     */
    private StreamHandler.Session streamSession(String line, Caller caller, OutputStream out) throws IOException {
        Request request;
        try {
            request = Codec.decodeRequest(line);
        } catch (SlsException e) {
            return null; // dispatch answers it
        }
        StreamHandler h = streams.get(request.op());
        if (h == null) {
            return null;
        }
        StreamHandler.Stream stream;
        try {
            stream = h.open(request.args(), caller);
        } catch (SlsException e) {
            log.info("{} from uid {} failed: {}", request.op(), caller.uid(), e.getMessage());
            writeLine(out, Response.failure(request.id(), e.toError()));
            return NOTHING;
        } catch (Exception | Error e) {
            log.error("{} from uid {} failed unexpectedly", request.op(), caller.uid(), e);
            writeLine(out, Response.failure(request.id(), new SlsError(ErrorCode.INTERNAL, request.op()
                    + " failed inside slsd: " + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName()))));
            return NOTHING;
        }
        writeLine(out, Response.success(request.id(), stream.result()));
        return stream.session();
    }

    /** The session of a refused streaming request: the connection goes on with the next request. */
    private static final StreamHandler.Session NOTHING = channel -> { };

    /** Decodes, runs and answers one request line; never throws. */
    Response dispatch(String line, Caller caller) {
        Request request;
        try {
            request = Codec.decodeRequest(line);
        } catch (SlsException e) {
            return Response.failure(Codec.idOf(line), e.toError());
        }
        Handler handler = handlers.get(request.op());
        if (handler == null) {
            return Response.failure(request.id(), new SlsError(ErrorCode.UNKNOWN_OP, "unknown operation \"" + request.op() + "\""));
        }
        inFlight.incrementAndGet();
        try {
            JsonNode result = handler.handle(request.args(), caller.withRequest(request.id()));
            return Response.success(request.id(), result == null ? Codec.MAPPER.createObjectNode() : result);
        } catch (SlsException e) {
            log.info("{} from uid {} failed: {}", request.op(), caller.uid(), e.getMessage());
            return Response.failure(request.id(), e.toError());
        } catch (Exception | Error e) {
            log.error("{} from uid {} failed unexpectedly", request.op(), caller.uid(), e);
            return Response.failure(request.id(), new SlsError(ErrorCode.INTERNAL,
                    request.op() + " failed inside slsd: " + (e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName())));
        } finally {
            inFlight.decrementAndGet();
        }
    }

    private static Caller callerOf(SocketChannel channel) throws IOException {
        UnixDomainPrincipal p = channel.getOption(ExtendedSocketOptions.SO_PEERCRED);
        String user = p.user().getName();
        int uid = Users.uidOf(user);
        OptionalInt fd = ConnectionFd.of(channel);
        if (fd.isEmpty()) {
            return new Caller(uid, user);
        }
        try {
            FdCalls.PeerCredentials cred = FdCalls.peerCredentials(fd.getAsInt());
            String link = Files.readSymbolicLink(Path.of("/proc/self/fd", Integer.toString(fd.getAsInt()))).toString();
            long inode = link.startsWith("socket:[") ? Long.parseLong(link.substring(8, link.length() - 1)) : 0;
            return new Caller(uid, user, cred.pid(), inode, 0);
        } catch (RuntimeException | IOException e) {
            log.debug("connection from uid {}: pid and socket unknown: {}", uid, e.getMessage());
            return new Caller(uid, user);
        }
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream(256);
        int b;
        while ((b = in.read()) != -1) {
            if (b == '\n') {
                return buf.toString(StandardCharsets.UTF_8);
            }
            if (buf.size() >= Protocol.MAX_LINE_BYTES) {
                throw new LineTooLongException();
            }
            buf.write(b);
        }
        return null; // the client left, perhaps mid-request: nothing to answer
    }

    /**
     * Reads what is left of an oversized line, up to a bound, so that closing the connection
     * does not reset it before the client has read the error.
     */
    private static void discardRestOfLine(InputStream in) throws IOException {
        byte[] buf = new byte[8192];
        long left = 16L * Protocol.MAX_LINE_BYTES;
        int n;
        while (left > 0 && (n = in.read(buf)) > 0) {
            for (int i = 0; i < n; i++) {
                if (buf[i] == '\n') {
                    return;
                }
            }
            left -= n;
        }
    }

    private static void writeLine(OutputStream out, Response response) throws IOException {
        out.write((Codec.encode(response) + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /**
     * Stops accepting, lets requests in flight finish (up to {@code graceMillis}), closes every
     * connection and removes the socket file.
     */
    public void close(long graceMillis) {
        closing = true;
        closeQuietly(server);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(graceMillis);
        while (inFlight.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        for (SocketChannel c : open) {
            closeQuietly(c);
        }
        workers.shutdownNow();
        try {
            if (!Files.deleteIfExists(socketPath)) {
                log.debug("socket {} was already gone", socketPath);
            }
        } catch (IOException e) {
            log.warn("cannot remove socket {}: {}", socketPath, e.getMessage());
        }
    }

    @Override
    public void close() {
        close(30_000);
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing on shutdown: nothing more to do
        }
    }

    private static final class LineTooLongException extends IOException {
        LineTooLongException() {
            super("line too long");
        }
    }
}
