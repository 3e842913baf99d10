package org.sls.slsd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sls.libsls.protocol.Codec;
import org.sls.libsls.protocol.ErrorCode;
import org.sls.libsls.protocol.SlsException;
import org.sls.slsd.control.Args;
import org.sls.slsd.control.Caller;
import org.sls.slsd.control.StreamHandler;
import org.sls.slsd.linux.FdCalls;
import org.sls.slsd.linux.NativeException;
import org.sls.slsd.linux.PtyCalls;
import org.sls.slsd.resources.Terminal;
import org.sls.slsd.restore.RestoreEngine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The {@code console} and {@code winsize} operations: a client attaches to a terminal slsd keeps
 * for restored processes (the master of a pty made at restore, {@link Terminal}) and the
 * connection then carries the terminal's bytes both ways: what the client sends is typed into the
 * terminal, what the programs write is sent to the client. One console per terminal at a time.
 * Thread-safe: each console runs on its connection's thread plus one thread copying the
 * terminal's output.
 */
final class Consoles {
    private static final Logger log = LoggerFactory.getLogger(Consoles.class);
    private static final int POLL_MS = 200;

    private final Partitions partitions;
    private final RestoreEngine restorer;

    Consoles(Partitions partitions, RestoreEngine restorer) {
        this.partitions = partitions;
        this.restorer = restorer;
    }

    StreamHandler.Stream console(ObjectNode args, Caller caller) {
        String name = Args.string(args, "name");
        Terminal t = select(name, (int) Args.optLong(args, "pid", 0), caller);
        resize(t, args);
        if (!t.tryAttach()) {
            throw new SlsException(ErrorCode.BUSY, "partition " + name + ": terminal " + t.path()
                    + " already has a console attached");
        }
        log.info("partition {}: console attached to {} by uid {}", name, t, caller.uid());
        ObjectNode r = Codec.MAPPER.createObjectNode();
        r.put("name", name);
        r.put("tty", t.path());
        r.put("path", t.checkpointedPath());
        r.put("pid", owner(t));
        return new StreamHandler.Stream(r, channel -> {
            try {
                serve(t, channel);
            } finally {
                t.detach();
                log.info("partition {}: console detached from {}", name, t.path());
            }
        });
    }

    JsonNode winsize(ObjectNode args, Caller caller) {
        String name = Args.string(args, "name");
        Terminal t = select(name, (int) Args.optLong(args, "pid", 0), caller);
        if (!args.hasNonNull("rows") || !args.hasNonNull("cols")) {
            throw Args.invalid("winsize needs \"rows\" and \"cols\"");
        }
        resize(t, args);
        ObjectNode r = Codec.MAPPER.createObjectNode();
        r.put("tty", t.path());
        return r;
    }

    private static void resize(Terminal t, ObjectNode args) {
        long rows = Args.optLong(args, "rows", 0);
        long cols = Args.optLong(args, "cols", 0);
        if (rows < 0 || cols < 0 || rows > 0xffff || cols > 0xffff) {
            throw Args.invalid("window size " + rows + "x" + cols + " is out of range");
        }
        if (rows > 0 && cols > 0) {
            // through the master: the slave's foreground process group gets SIGWINCH when it changes
            PtyCalls.setWindowSize(t.master(), (int) rows, (int) cols, 0, 0, t.path());
        }
    }

    /** The terminal of the partition that {@code pid} holds (0: the partition's only one). */
    private Terminal select(String name, int pid, Caller caller) {
        partitions.get(name);
        List<Terminal> all = restorer.terminals(name);
        if (all.isEmpty()) {
            throw new SlsException(ErrorCode.NOT_FOUND, "partition " + name + " has no terminal: only processes restored"
                    + " from a pseudo-terminal (tmux, script, ssh) get one, and only while they run");
        }
        Terminal t;
        if (pid != 0) {
            List<Terminal> held = all.stream().filter(x -> x.holders().contains(pid)).toList();
            if (held.isEmpty()) {
                throw new SlsException(ErrorCode.NOT_FOUND, "partition " + name + ": pid " + pid
                        + " holds none of its terminals (" + describe(all) + ")");
            }
            t = held.get(held.size() - 1);
        } else if (all.size() == 1) {
            t = all.get(0);
        } else {
            throw Args.invalid("partition " + name + " has " + all.size() + " terminals (" + describe(all)
                    + "): choose one with a pid that holds it");
        }
        int owner = owner(t);
        if (owner == 0) {
            throw new SlsException(ErrorCode.NOT_FOUND, "partition " + name + ": terminal " + t.path() + " has no process");
        }
        ProcessOps.requireOwner(owner, caller);
        return t;
    }

    /** The session leader on the terminal, or its first holder; 0 when none. */
    private static int owner(Terminal t) {
        return t.sessionLeader() != 0 ? t.sessionLeader() : t.holders().stream().findFirst().orElse(0);
    }

    private static String describe(List<Terminal> all) {
        return all.stream().map(Terminal::toString).collect(Collectors.joining(", "));
    }

    /** Copies bytes both ways until the client leaves or the terminal's processes are all gone. */
    private static void serve(Terminal t, SocketChannel channel) throws IOException {
        Thread output = new Thread(() -> {
            ByteBuffer buf = ByteBuffer.allocate(8192);
            try {
                while (channel.isOpen()) {
                    if (!PtyCalls.awaitReadable(t.master(), POLL_MS)) {
                        continue;
                    }
                    byte[] b = FdCalls.read(t.master(), buf.capacity(), t.path());
                    if (b.length == 0) {
                        continue;
                    }
                    ByteBuffer out = ByteBuffer.wrap(b);
                    while (out.hasRemaining()) {
                        channel.write(out);
                    }
                }
            } catch (NativeException e) {
                log.info("terminal {}: {}: its processes are gone; console ends", t.path(), e.getMessage());
            } catch (IOException e) {
                log.debug("terminal {}: console client gone: {}", t.path(), e.getMessage());
            } finally {
                closeQuietly(channel); // the client sees the end; the input loop below ends too
            }
        }, "slsd-console-" + t.path());
        output.setDaemon(true);
        output.start();
        ByteBuffer in = ByteBuffer.allocate(4096);
        try {
            while (true) {
                in.clear();
                int n = channel.read(in);
                if (n < 0) {
                    break;
                }
                byte[] b = new byte[n];
                in.flip().get(b);
                FdCalls.writeAll(t.master(), b, t.path());
            }
        } catch (IOException e) {
            log.debug("terminal {}: console connection ended: {}", t.path(), e.getMessage());
        } catch (NativeException e) {
            log.info("terminal {}: {}; console ends", t.path(), e.getMessage());
        } finally {
            closeQuietly(channel);
            try {
                output.join(5L * POLL_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void closeQuietly(SocketChannel c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // ending the console: nothing more to tell
        }
    }
}
