package org.sls.libsls;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sls.libsls.protocol.Codec;
import org.sls.libsls.protocol.ErrorCode;
import org.sls.libsls.protocol.Op;
import org.sls.libsls.protocol.Protocol;
import org.sls.libsls.protocol.Request;
import org.sls.libsls.protocol.Response;
import org.sls.libsls.protocol.SlsException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A connection to slsd: the Java API over the control protocol ({@code docs/protocol.md}).
 * Each call sends one request line and reads its response; a connection found dead is replaced
 * by a new one at the next call (see {@link #call}). Thread-safe: calls on one client are
 * serialized; open several clients for parallel calls.
 */
public final class SlsClient implements AutoCloseable {
    private final Path socket;
    /** The connection, or null after it was found dead: the next call connects again. */
    private volatile SocketChannel channel;
    private volatile boolean closed;
    private BufferedReader in;
    private OutputStream out;
    private long nextId = 1;

    private SlsClient(Path socket, SocketChannel channel) {
        this.socket = socket;
        use(channel);
    }

    private void use(SocketChannel c) {
        this.channel = c;
        this.in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
        this.out = Channels.newOutputStream(c);
    }

    private static SocketChannel open(Path socket) {
        SocketChannel channel = null;
        try {
            channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            channel.connect(UnixDomainSocketAddress.of(socket));
            return channel;
        } catch (IOException | UnsupportedOperationException e) {
            closeQuietly(channel);
            throw new SlsUnreachableException(socket, e);
        }
    }

    /** Forgets a connection that slsd no longer holds; the next call connects again. */
    private void drop() {
        closeQuietly(channel);
        channel = null;
    }

    /** The socket named by {@code SLS_SOCKET}, or the default one. */
    public static Path defaultSocket() {
        String env = System.getenv(Protocol.SOCKET_ENV);
        return Path.of(env != null && !env.isEmpty() ? env : Protocol.DEFAULT_SOCKET);
    }

    /** Connects to slsd at {@code socket}; throws {@link SlsUnreachableException} when nobody answers. */
    public static SlsClient connect(Path socket) {
        return new SlsClient(socket, open(socket));
    }

    /** The socket this client talks to. */
    public Path socket() {
        return socket;
    }

    /**
     * Sends one request and returns its result; a failure answered by slsd becomes an
     * {@link SlsException} carrying its code and message.
     * <p>A connection that died while idle (slsd restarted, or this process was restored from a
     * checkpoint: its connection comes back with slsd's end closed) fails the write before slsd
     * could see anything; the request is then sent once more on a new connection. A connection
     * that ends before the answer came throws {@link SlsUnreachableException} (whether slsd acted
     * is unknown); the next call connects again.
     */
    public synchronized JsonNode call(String op, ObjectNode args) {
        long id = nextId++;
        Request request = new Request(Protocol.VERSION, id, op, args == null ? Codec.MAPPER.createObjectNode() : args);
        byte[] line = (Codec.encode(request) + "\n").getBytes(StandardCharsets.UTF_8);
        for (int attempt = 1; ; attempt++) {
            if (closed) {
                throw new SlsUnreachableException(socket, new IOException("this client was closed"));
            }
            if (channel == null) {
                use(open(socket));
            }
            try {
                out.write(line);
                out.flush();
            } catch (IOException e) {
                drop();
                if (attempt < 2) {
                    continue; // nothing of the request reached slsd
                }
                throw new SlsUnreachableException(socket, e);
            }
            break;
        }
        String reply;
        try {
            reply = in.readLine();
        } catch (IOException e) {
            drop();
            throw new SlsUnreachableException(socket, e);
        }
        if (reply == null) {
            drop();
            throw new SlsUnreachableException(socket, new IOException("slsd closed the connection before answering request " + id));
        }
        Response response = Codec.decodeResponse(reply);
        if (!response.ok()) {
            if (response.error() == null) {
                throw new SlsException(ErrorCode.INTERNAL, "slsd failed request " + id + " without saying why");
            }
            throw new SlsException(response.error().code(), response.error().message());
        }
        return response.result();
    }

    /** A fresh argument object for {@link #call}. */
    public static ObjectNode args() {
        return Codec.MAPPER.createObjectNode();
    }

    /** The daemon's version and pid, and the protocol version it speaks. */
    public JsonNode hello() {
        return call(Op.HELLO.wireName(), null);
    }

    /** The kernel features slsd found at start. */
    public List<KernelFeature> check() {
        return convert(call(Op.CHECK.wireName(), null).get("features"), new TypeReference<>() { });
    }

    /**
     * What would stop {@code pid} (and its descendants when {@code recursive}) from being
     * checkpointed, one message per problem naming the fd or mapping; empty when nothing would.
     * The process is not touched.
     */
    public List<String> checkProcess(int pid, boolean recursive) {
        ObjectNode a = args();
        a.put("pid", pid);
        a.put("recursive", recursive);
        return convert(call(Op.CHECK.wireName(), a).get("problems"), new TypeReference<>() { });
    }

    /** Daemon, store and partitions. */
    public Status status() {
        return convert(call(Op.STATUS.wireName(), null), new TypeReference<>() { });
    }

    /** Creates a partition; fails with EXISTS when the name is taken. */
    public PartitionInfo partadd(PartitionSpec spec) {
        ObjectNode a = args();
        a.put("name", spec.name());
        a.put("backend", spec.backend());
        a.put("mode", spec.mode());
        a.put("period", spec.periodMs());
        a.put("keep", spec.keep());
        return convert(call(Op.PARTADD.wireName(), a), new TypeReference<>() { });
    }

    /** Deletes a partition and its checkpoints; fails with NOT_FOUND when there is none. */
    public void partdel(String name) {
        ObjectNode a = args();
        a.put("name", name);
        call(Op.PARTDEL.wireName(), a);
    }

    /** Committed checkpoints of one partition, or of all when {@code partition} is empty. */
    public List<SnapshotInfo> listsnaps(Optional<String> partition) {
        ObjectNode a = args();
        partition.ifPresent(p -> a.put("name", p));
        return convert(call(Op.LISTSNAPS.wireName(), a).get("snapshots"), new TypeReference<>() { });
    }

    /** Deletes one checkpoint of a partition; returns the epochs deleted. */
    public List<Long> deleteEpoch(String partition, long epoch) {
        ObjectNode a = args();
        a.put("name", partition);
        a.put("epoch", epoch);
        return convert(call(Op.DELETE.wireName(), a).get("deleted"), new TypeReference<>() { });
    }

    /** Deletes all but the newest {@code keep} checkpoints of a partition; returns the epochs deleted. */
    public List<Long> deleteAllBut(String partition, int keep) {
        ObjectNode a = args();
        a.put("name", partition);
        a.put("keep", keep);
        return convert(call(Op.DELETE.wireName(), a).get("deleted"), new TypeReference<>() { });
    }

    /** Checks the store slsd serves; with {@code repair}, fixes what can be derived again. */
    public FsckResult fsck(boolean repair) {
        ObjectNode a = args();
        a.put("repair", repair);
        return convert(call(Op.FSCK.wireName(), a), new TypeReference<>() { });
    }

    /** Attaches a running process to a partition (the default one, created on demand, when null). */
    public String attach(int pid, String partition) {
        ObjectNode a = args();
        a.put("pid", pid);
        if (partition != null) {
            a.put("name", partition);
        }
        return call(Op.ATTACH.wireName(), a).get("name").textValue();
    }

    /** Removes a process from its partition. */
    public void detach(int pid) {
        ObjectNode a = args();
        a.put("pid", pid);
        call(Op.DETACH.wireName(), a);
    }

    /**
     * Starts {@code argv} in a partition, attached from its first instruction, with this
     * process's environment and working directory; returns its pid. Null paths mean /dev/null.
     */
    public int spawn(String partition, List<String> argv, String stdin, String stdout, String stderr) {
        ObjectNode a = args();
        a.put("name", partition);
        a.set("argv", Codec.MAPPER.valueToTree(argv));
        a.set("env", Codec.MAPPER.valueToTree(System.getenv()));
        a.put("cwd", Path.of("").toAbsolutePath().toString());
        a.put("stdin", stdin);
        a.put("stdout", stdout);
        a.put("stderr", stderr);
        return call(Op.SPAWN.wireName(), a).get("pid").intValue();
    }

    /**
     * Checkpoints a partition (the default one when null) into one new epoch and returns once it
     * is durable. {@code recursive} includes every descendant of the attached processes.
     */
    public CheckpointInfo checkpoint(String partition, boolean recursive) {
        return checkpoint(partition, recursive, false);
    }

    /**
     * As {@link #checkpoint(String, boolean)}; with {@code external}, a pipe that processes outside
     * the partition also hold does not refuse the checkpoint: the partition's end comes back on
     * /dev/null at restore.
     */
    public CheckpointInfo checkpoint(String partition, boolean recursive, boolean external) {
        return checkpoint(partition, recursive, external, false);
    }

    /**
     * As {@link #checkpoint(String, boolean, boolean)}; with {@code kill} ({@code slsctl checkpoint
     * --kill}), the partition's processes are ended once the epoch is durable, behind a network
     * lock on their connections to peers outside the partition: restoring that epoch resumes those
     * connections (the peers notice nothing) and lifts the lock. A failure before the kill leaves
     * the processes running as before.
     */
    public CheckpointInfo checkpoint(String partition, boolean recursive, boolean external, boolean kill) {
        ObjectNode a = args();
        a.put("external", external);
        if (kill) {
            a.put("kill", true);
        }
        if (partition != null) {
            a.put("name", partition);
        }
        a.put("recursive", recursive);
        return convert(call(Op.CHECKPOINT.wireName(), a), new TypeReference<>() { });
    }

    /**
     * Checkpoints the partition that this process is attached to (or, when only an ancestor is, that
     * ancestor's partition with every descendant), and returns once the epoch is durable. Like
     * {@code fork}, it returns twice: here with {@link SelfCheckpoint#restored()} false, and in every
     * process later restored from that epoch ({@code slsctl restore}) with {@code restored} true and
     * the same epoch, with the memory as it was at the checkpoint. A restored process's connection
     * to slsd is gone; the client connects again for the next call.
     *
     * <p>Errors: NOT_FOUND when this process is not in any partition ({@code slsctl attach -p PID}
     * first); UNSUPPORTED naming pid, fd and kind when the partition holds something sls cannot save
     * (the process runs on untouched).
     */
    public SelfCheckpoint checkpointSelf() {
        return checkpointSelf(false);
    }

    /** As {@link #checkpointSelf()}; {@code recursive} includes every descendant of the partition's processes. */
    public synchronized SelfCheckpoint checkpointSelf(boolean recursive) {
        ObjectNode a = args();
        a.put("self", true);
        a.put("recursive", recursive);
        SelfCheckpoint r = convert(call(Op.CHECKPOINT.wireName(), a), new TypeReference<>() { });
        if (r.restored()) {
            drop(); // the restored connection ends after this answer
        }
        return r;
    }

    /** The checkpoints and restores running now (of one partition, or all when null), with their progress. */
    public java.util.List<OperationProgress> progress(String partition) {
        ObjectNode a = args();
        if (partition != null) {
            a.put("name", partition);
        }
        return convert(call(Op.PROGRESS.wireName(), a).get("operations"), new TypeReference<>() { });
    }

    /**
     * Returns once {@code epoch} of the partition, or a newer one, is durable (an epoch pruned by
     * --keep since counts); NOT_FOUND if it never will be.
     */
    public void epochWait(String partition, long epoch) {
        ObjectNode a = args();
        a.put("name", partition);
        a.put("epoch", epoch);
        call(Op.EPOCHWAIT.wireName(), a);
    }

    /**
     * Restores every process of a partition (the default one when null) as of {@code epoch} (0:
     * the newest committed). {@code stopped} leaves them stopped (continue with SIGCONT);
     * {@code newPids} gives them fresh PIDs instead of their original ones.
     */
    public RestoreInfo restore(String partition, long epoch, boolean stopped, boolean newPids) {
        ObjectNode a = args();
        if (partition != null) {
            a.put("name", partition);
        }
        a.put("epoch", epoch);
        a.put("stopped", stopped);
        a.put("newPids", newPids);
        return convert(call(Op.RESTORE.wireName(), a), new TypeReference<>() { });
    }

    /**
     * Has slsd write an ELF core file of process {@code pid} as of {@code epoch} to {@code out}
     * (an absolute path slsd can write); returns its size in bytes.
     */
    public long core(String partition, long epoch, int pid, Path out) {
        ObjectNode a = args();
        a.put("name", partition);
        a.put("epoch", epoch);
        a.put("pid", pid);
        a.put("path", out.toAbsolutePath().toString());
        return call(Op.CORE.wireName(), a).get("bytes").longValue();
    }

    /**
     * Attaches to the terminal slsd keeps for the restored processes of {@code partition} (the one
     * process {@code pid} holds when {@code pid} is not 0; the partition's only one otherwise), with
     * the window size {@code rows} x {@code cols} (0: leave it). From then on this connection carries
     * the terminal's bytes both ways, raw: the returned console owns it (and this client is spent).
     */
    public synchronized Console console(String partition, int pid, int rows, int cols) {
        ObjectNode a = args();
        a.put("name", partition);
        if (pid != 0) {
            a.put("pid", pid);
        }
        if (rows > 0 && cols > 0) {
            a.put("rows", rows);
            a.put("cols", cols);
        }
        long id = nextId++;
        Request request = new Request(Protocol.VERSION, id, Op.CONSOLE.wireName(), a);
        String reply;
        try {
            out.write((Codec.encode(request) + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            // byte by byte: what follows the answer is the terminal's output, not for a line reader
            java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream(256);
            java.nio.ByteBuffer one = java.nio.ByteBuffer.allocate(1);
            while (true) {
                one.clear();
                if (channel.read(one) < 0) {
                    throw new IOException("slsd closed the connection");
                }
                if (one.get(0) == '\n') {
                    break;
                }
                line.write(one.get(0));
            }
            reply = line.toString(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new SlsUnreachableException(socket, e);
        }
        Response response = Codec.decodeResponse(reply);
        if (!response.ok()) {
            throw new SlsException(response.error() == null ? ErrorCode.INTERNAL : response.error().code(),
                    response.error() == null ? "slsd refused the console without saying why" : response.error().message());
        }
        JsonNode r = response.result();
        return new Console(channel, r.path("tty").asText(), r.path("pid").asInt(), r.path("path").asText());
    }

    /** Sets the window size of the terminal of {@code partition} that {@link #console} would attach to (the foreground group gets SIGWINCH). */
    public void windowSize(String partition, int pid, int rows, int cols) {
        ObjectNode a = args();
        a.put("name", partition);
        if (pid != 0) {
            a.put("pid", pid);
        }
        a.put("rows", rows);
        a.put("cols", cols);
        call(Op.WINSIZE.wireName(), a);
    }

    /** Converts a result tree into a typed value. */
    public static <T> T convert(JsonNode node, TypeReference<T> type) {
        try {
            return Codec.MAPPER.treeToValue(node, Codec.MAPPER.constructType(type));
        } catch (JsonProcessingException | IllegalArgumentException e) {
            throw new SlsException(ErrorCode.INTERNAL, "unexpected answer from slsd: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(channel);
    }

    private static void closeQuietly(SocketChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // nothing is lost: the connection carries no state
            }
        }
    }
}
