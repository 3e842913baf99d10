package org.sls.libsls;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.libsls.protocol.Codec;
import org.sls.libsls.protocol.Request;
import org.sls.libsls.protocol.Response;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How {@link SlsClient} lives through connections that end: the one a restored process gets back
 * (slsd's end closed, maybe with an answer queued), and a server that goes away. A scripted server
 * on a temporary socket stands for slsd.
 */
class SlsClientReconnectTest {

    /** Accepts one connection, answers {@code answers} requests on it with {@code result}, then closes it. */
    private static List<Request> serve(ServerSocketChannel server, int answers, ObjectNode result) throws IOException {
        List<Request> seen = new ArrayList<>();
        try (SocketChannel c = server.accept()) {
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
            for (int i = 0; i < answers; i++) {
                Request r = Codec.decodeRequest(in.readLine());
                seen.add(r);
                c.write(ByteBuffer.wrap((Codec.encode(Response.success(r.id(), result)) + "\n").getBytes(StandardCharsets.UTF_8)));
            }
        }
        return seen;
    }

    private static ServerSocketChannel listen(Path socket) throws IOException {
        ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        s.bind(UnixDomainSocketAddress.of(socket));
        return s;
    }

    private static ObjectNode hello() {
        return Codec.MAPPER.createObjectNode().put("pid", 42);
    }

    @Test
    void aConnectionClosedWhileIdleIsReplacedAndTheRequestSentOnce(@TempDir Path tmp) throws Exception {
        Path socket = tmp.resolve("s.sock");
        try (ServerSocketChannel server = listen(socket); SlsClient client = SlsClient.connect(socket)) {
            List<Request> first = new ArrayList<>();
            Thread t = new Thread(() -> {
                try {
                    first.addAll(serve(server, 1, hello())); // then closes: as a restored connection ends
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            });
            t.start();
            assertEquals(42, client.hello().get("pid").intValue());
            t.join();

            List<Request> second = new ArrayList<>();
            Thread t2 = new Thread(() -> {
                try {
                    second.addAll(serve(server, 1, hello()));
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            });
            t2.start();
            JsonNode r = client.hello(); // the old connection fails the write; the request goes on a new one
            t2.join();
            assertEquals(42, r.get("pid").intValue());
            assertEquals(1, second.size(), "the request reached the server once");
            assertEquals("hello", second.get(0).op());
            assertTrue(second.get(0).id() > first.get(0).id(), "ids go on across connections");
        }
    }

    @Test
    void aRestoredAnswerEndsTheConnectionAndTheNextCallConnectsAgain(@TempDir Path tmp) throws Exception {
        Path socket = tmp.resolve("s.sock");
        ObjectNode restored = Codec.MAPPER.createObjectNode().put("partition", "p").put("epoch", 7).put("restored", true);
        try (ServerSocketChannel server = listen(socket); SlsClient client = SlsClient.connect(socket)) {
            List<Request> seen = new ArrayList<>();
            // this server keeps the connection open after its answer: only the answer tells the client to leave it
            Thread t = new Thread(() -> {
                try (SocketChannel c = server.accept()) {
                    BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
                    Request r = Codec.decodeRequest(in.readLine());
                    seen.add(r);
                    c.write(ByteBuffer.wrap((Codec.encode(Response.success(r.id(), restored)) + "\n").getBytes(StandardCharsets.UTF_8)));
                    seen.addAll(serve(server, 1, hello())); // the next call comes on a new connection
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            });
            t.start();
            SelfCheckpoint c = client.checkpointSelf();
            assertEquals(new SelfCheckpoint("p", 7, true), c);
            assertEquals(42, client.hello().get("pid").intValue());
            t.join();
            assertEquals(2, seen.size());
            assertEquals("checkpoint", seen.get(0).op());
            assertTrue(seen.get(0).args().get("self").booleanValue());
        }
    }

    @Test
    void aConnectionThatEndsBeforeTheAnswerFailsTheCallAndTheNextOneConnectsAgain(@TempDir Path tmp) throws Exception {
        Path socket = tmp.resolve("s.sock");
        try (ServerSocketChannel server = listen(socket); SlsClient client = SlsClient.connect(socket)) {
            Thread t = new Thread(() -> {
                try {
                    try (SocketChannel c = server.accept()) {
                        new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8)).readLine();
                    } // closed without an answer
                    serve(server, 1, hello());
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            });
            t.start();
            SlsUnreachableException e = assertThrows(SlsUnreachableException.class, client::hello);
            assertTrue(e.getMessage().contains("before answering"), e.getMessage());
            assertEquals(42, client.hello().get("pid").intValue());
            t.join();
        }
    }

    @Test
    void aClosedClientDoesNotConnectAgain(@TempDir Path tmp) throws Exception {
        Path socket = tmp.resolve("s.sock");
        try (ServerSocketChannel server = listen(socket)) {
            SlsClient client = SlsClient.connect(socket);
            server.accept().close();
            client.close();
            assertThrows(SlsUnreachableException.class, client::hello);
            server.configureBlocking(false);
            assertNull(server.accept(), "no new connection was made");
        }
    }
}
