package org.sls.tests;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.libsls.protocol.Codec;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input on the control socket: every malformed message gets a clear error or is dropped, and
 * the daemon keeps serving.
 */
class ProtocolAbuseTest {

    @Test
    void aThousandMalformedMessagesThenAGoodOne(@TempDir Path tmp) throws Exception {
        try (Sls sls = Sls.start(tmp);
             SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(sls.socket()));
            OutputStream out = Channels.newOutputStream(ch);
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
            List<String> kinds = List.of(
                    "not json at all",
                    "[1,2,3]",
                    "{\"v\":1,\"op\":\"status\"}",
                    "{\"v\":99,\"id\":5,\"op\":\"status\"}",
                    "{\"v\":1,\"id\":6,\"op\":\"launch-missiles\"}",
                    "{\"v\":1,\"id\":7,\"op\":\"partadd\",\"args\":{}}",
                    "{\"v\":1,\"id\":8,\"op\":\"partadd\",\"args\":{\"name\":42}}",
                    "{\"v\":1,\"id\":9,\"op\":\"status\",\"args\":\"oops\"}",
                    "{\"v\":\"1\",\"id\":10,\"op\":\"status\"}",
                    "{\"v\":1,\"id\":11,\"op\":\"partdel\",\"args\":{\"name\":\"ghost\"}}",
                    "{\"v\":1,\"id\":12,");
            Random random = new Random(42);
            for (int i = 0; i < 1000; i++) {
                String line;
                if (i % 10 == 9) {
                    byte[] junk = new byte[1 + random.nextInt(200)];
                    random.nextBytes(junk);
                    line = new String(junk, StandardCharsets.ISO_8859_1).replace('\n', ' ');
                } else {
                    line = kinds.get(i % kinds.size());
                }
                out.write((line + "\n").getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                if (line.isBlank()) {
                    continue;
                }
                String reply = in.readLine();
                JsonNode r = Codec.MAPPER.readTree(reply);
                assertFalse(r.get("ok").booleanValue(), "message " + i + " [" + line + "] must fail: " + reply);
                assertFalse(r.get("error").get("message").textValue().isBlank(), reply);
            }
            out.write("{\"v\":1,\"id\":4242,\"op\":\"partadd\",\"args\":{\"name\":\"survivor\"}}\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            JsonNode good = Codec.MAPPER.readTree(in.readLine());
            assertTrue(good.get("ok").booleanValue(), good.toString());
            assertEquals(4242, good.get("id").longValue());
            assertEquals(0, sls.ctl("status").exit(), "daemon still serves other clients");
        }
    }

    @Test
    void errorsCarryCodesAndIds(@TempDir Path tmp) throws Exception {
        try (Sls sls = Sls.start(tmp);
             SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(sls.socket()));
            OutputStream out = Channels.newOutputStream(ch);
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
            out.write("{\"v\":2,\"id\":3,\"op\":\"status\"}\n{\"v\":1,\"id\":4,\"op\":\"frobnicate\"}\n{\"v\":1,\"id\":5,\"op\":\"partdel\",\"args\":{\"name\":\"x\"}}\n"
                    .getBytes(StandardCharsets.UTF_8));
            out.flush();
            JsonNode version = Codec.MAPPER.readTree(in.readLine());
            assertEquals("UNSUPPORTED_VERSION", version.get("error").get("code").textValue());
            assertEquals(3, version.get("id").longValue());
            JsonNode unknown = Codec.MAPPER.readTree(in.readLine());
            assertEquals("UNKNOWN_OP", unknown.get("error").get("code").textValue());
            assertTrue(unknown.get("error").get("message").textValue().contains("frobnicate"));
            JsonNode notFound = Codec.MAPPER.readTree(in.readLine());
            assertEquals("NOT_FOUND", notFound.get("error").get("code").textValue());
        }
    }

    @Test
    void anOversizedLineIsRefusedAndTheConnectionClosedWhileTheDaemonServesOn(@TempDir Path tmp) throws Exception {
        try (Sls sls = Sls.start(tmp);
             SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(sls.socket()));
            OutputStream out = Channels.newOutputStream(ch);
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(ch), StandardCharsets.UTF_8));
            byte[] big = new byte[(1 << 20) + 10];
            java.util.Arrays.fill(big, (byte) 'a');
            try {
                out.write(big);
                out.write('\n');
                out.flush();
            } catch (java.io.IOException closedEarly) {
                // the daemon may close before we finish writing: that is the point
            }
            JsonNode r = Codec.MAPPER.readTree(in.readLine());
            assertEquals("BAD_REQUEST", r.get("error").get("code").textValue());
            assertNull(in.readLine(), "connection closed after an oversized line");
            assertEquals(0, sls.ctl("status").exit());
        }
    }

    @Test
    void aClientThatDisconnectsMidRequestDoesNotDisturbTheDaemon(@TempDir Path tmp) throws Exception {
        try (Sls sls = Sls.start(tmp)) {
            for (int i = 0; i < 20; i++) {
                try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                    ch.connect(UnixDomainSocketAddress.of(sls.socket()));
                    Channels.newOutputStream(ch).write("{\"v\":1,\"id\":1,\"op\":\"part".getBytes(StandardCharsets.UTF_8));
                }
            }
            assertEquals(0, sls.ctl("partadd", "-o", "fine").exit());
        }
    }
}
