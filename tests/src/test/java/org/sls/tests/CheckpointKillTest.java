package org.sls.tests;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.libsls.protocol.Codec;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code slsctl checkpoint --kill} with the real slsd and slsctl: a TCP server in the partition
 * (workloads/line_server.c, answering each numbered line with a running count and sum per
 * connection) and a client outside it, the test itself, in mid-conversation. The server is killed
 * behind the network lock and restored; the client's socket never sees EOF or a reset, a line sent
 * while the server is dead is answered after the restore with the count intact, the server's TCP
 * connection to itself (both ends in the partition) keeps its count too, and the listener takes
 * new clients. A --kill that fails (a userfaultfd in the server) leaves the server running,
 * its client connected, and no lock. Every process is ended by pid and every lock table of the
 * test's partitions removed, also on failure.
 */
class CheckpointKillTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private final List<Long> started = new ArrayList<>();
    private final List<String> partitions = new ArrayList<>();

    @AfterEach
    void cleanUp() {
        started.forEach(Workloads::kill);
        for (String t : lockTables()) {
            for (String p : partitions) {
                if (t.endsWith("_" + p)) {
                    Sls.run(List.of("nft", "delete", "table", "inet", t), Duration.ofSeconds(20));
                }
            }
        }
    }

    /** slsd's lock tables now in place (every store's). */
    private static List<String> lockTables() {
        CliResult r = Sls.run(List.of("nft", "list", "tables", "inet"), Duration.ofSeconds(20));
        assertEquals(0, r.exit(), r.all());
        List<String> out = new ArrayList<>();
        for (String line : r.out().split("\n")) {
            String[] w = line.trim().split("\\s+");
            if (w.length == 3 && w[2].startsWith("sls_lock_")) {
                out.add(w[2]);
            }
        }
        return out;
    }

    private static boolean locked(String partition) {
        return lockTables().stream().anyMatch(t -> t.endsWith("_" + partition));
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            return s.getLocalPort();
        }
    }

    /** One client of line_server, checking every answer against its own count and sum. Not thread-safe. */
    private static final class Client implements AutoCloseable {
        final Socket socket;
        final OutputStream out;
        final BufferedReader in;
        long count;
        long sum;

        Client(int port) throws IOException {
            socket = new Socket();
            socket.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            socket.setSoTimeout((int) WAIT.toMillis());
            out = socket.getOutputStream();
            in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
        }

        void send(long n) throws IOException {
            out.write((n + "\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            count++;
            sum += n;
        }

        /** Reads the answer to the line {@code n} sent last and checks the server's count and sum. */
        void expect(long n) throws IOException {
            String line = in.readLine();
            assertNotNull(line, "the server closed the connection (EOF) where line " + n + " was awaited");
            assertEquals(n + " " + count + " " + sum, line, "the server's count and sum follow the conversation");
        }

        /** Sends "pair N": N over the server's connection to itself, whose answer must be "N COUNT SUM". */
        void pair(long n, long count, long sum) throws IOException {
            out.write(("pair " + n + "\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            assertEquals("pair " + n + " " + count + " " + sum, in.readLine(),
                    "the server's connection to itself keeps its count and sum");
        }

        void exchange(long n) throws IOException {
            send(n);
            expect(n);
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    private static Client connectWhenUp(int port) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            try {
                return new Client(port);
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Sls.sleep(50);
            }
        }
    }

    private long spawnServer(Sls sls, String partition, int port, Path log) {
        assertEquals(0, sls.ctl("partadd", "-o", partition).exit());
        partitions.add(partition);
        CliResult spawn = sls.ctl("spawn", "-o", partition, "--stdout", log.toString(), "--stderr", log.toString(), "--",
                Workloads.binary("line_server").toString(), Integer.toString(port));
        assertEquals(0, spawn.exit(), spawn.all() + sls.daemonLog());
        long pid = Long.parseLong(spawn.out().trim());
        started.add(pid);
        return pid;
    }

    @Test
    void anOutsideClientNeverNoticesTheServerKilledAndRestored(@TempDir Path tmp) throws Exception {
        String part = "nlkill" + ProcessHandle.current().pid();
        int port = freePort();
        try (Sls sls = Sls.format(tmp, "1G")) {
            sls.startDaemon();
            long pid = spawnServer(sls, part, port, tmp.resolve("server.log"));
            try (Client c = connectWhenUp(port)) {
                for (long n = 1; n <= 5; n++) {
                    c.exchange(n * 7);
                }
                c.pair(5, 1, 5); // a connection with both ends in the partition, beside the outside one

                CliResult ck = sls.ctl("checkpoint", "-o", part, "--kill", "--json");
                assertEquals(0, ck.exit(), ck.all() + sls.daemonLog());
                JsonNode info = Codec.MAPPER.readTree(ck.out());
                assertTrue(info.get("killed").booleanValue(), ck.out());
                assertEquals(1, info.get("locked").size(), "the client's connection is locked: " + ck.out());
                Workloads.awaitGone(pid, WAIT);
                assertTrue(locked(part), "the lock stands while the server is dead: " + lockTables());

                // while the server is dead: the client's send succeeds and nothing comes back, no EOF, no reset
                c.send(1000);
                c.socket.setSoTimeout(1500);
                assertThrows(SocketTimeoutException.class, c.in::readLine, "the client hears nothing while locked");
                assertFalse(c.socket.isClosed());

                CliResult r = sls.ctl("restore", "-o", part, "--json");
                assertEquals(0, r.exit(), r.all() + sls.daemonLog());
                long restored = Codec.MAPPER.readTree(r.out()).get("pids").get(0).longValue();
                started.add(restored);
                assertEquals(pid, restored, "the server comes back under its pid");
                assertFalse(locked(part), "the restore lifted the lock: " + lockTables());

                // the line sent while it was dead is answered (TCP retransmits it), the count intact
                c.socket.setSoTimeout((int) Duration.ofSeconds(90).toMillis());
                c.expect(1000);
                c.socket.setSoTimeout((int) WAIT.toMillis());
                for (long n = 6; n <= 10; n++) {
                    c.exchange(n * 7);
                }
                c.pair(6, 2, 11);

                // the listener still takes clients, each with its own count
                try (Client d = connectWhenUp(port)) {
                    d.exchange(3);
                    d.exchange(4);
                }
                c.exchange(11);
            }
            assertTrue(sls.daemonLog().contains("resumed with TCP_REPAIR under the network lock"), sls.daemonLog());
        }
    }

    @Test
    void theLockOutlivesAnSlsdRestartUntilTheRestoreAndStaleLocksGo(@TempDir Path tmp) throws Exception {
        String part = "nlrestart" + ProcessHandle.current().pid();
        String gone = "nlgone" + ProcessHandle.current().pid();
        int port = freePort();
        try (Sls sls = Sls.format(tmp, "1G")) {
            sls.startDaemon();
            long pid = spawnServer(sls, part, port, tmp.resolve("server.log"));
            partitions.add(gone);
            try (Client c = connectWhenUp(port)) {
                c.exchange(1);
                c.exchange(2);
                CliResult ck = sls.ctl("checkpoint", "-o", part, "--kill");
                assertEquals(0, ck.exit(), ck.all() + sls.daemonLog());
                Workloads.awaitGone(pid, WAIT);
                String table = lockTables().stream().filter(t -> t.endsWith("_" + part)).findFirst().orElseThrow();
                // a lock of this store whose partition no longer exists: stale
                String stale = table.substring(0, table.length() - part.length()) + gone;
                CliResult made = Sls.run(List.of("nft", "add", "table", "inet", stale), Duration.ofSeconds(20));
                assertEquals(0, made.exit(), made.all());

                assertEquals(0, sls.stopDaemon());
                assertTrue(locked(part), "slsd's end does not lift the lock");
                c.send(3);
                sls.startDaemon();
                assertTrue(locked(part), "a lock whose epoch can still be restored stays: " + lockTables());
                assertFalse(locked(gone), "a lock of a partition that no longer exists goes at start: " + lockTables());

                CliResult r = sls.ctl("restore", "-o", part);
                assertEquals(0, r.exit(), r.all() + sls.daemonLog());
                started.add(pid);
                assertFalse(locked(part));
                c.socket.setSoTimeout((int) Duration.ofSeconds(90).toMillis());
                c.expect(3);
                c.socket.setSoTimeout((int) WAIT.toMillis());
                c.exchange(4);
            }
        }
    }

    @Test
    void withoutItsLockTheOutsideConnectionComesBackClosed(@TempDir Path tmp) throws Exception {
        String part = "nlopen" + ProcessHandle.current().pid();
        int port = freePort();
        try (Sls sls = Sls.format(tmp, "1G")) {
            sls.startDaemon();
            long pid = spawnServer(sls, part, port, tmp.resolve("server.log"));
            try (Client c = connectWhenUp(port)) {
                c.exchange(1);
                CliResult ck = sls.ctl("checkpoint", "-o", part, "--kill");
                assertEquals(0, ck.exit(), ck.all() + sls.daemonLog());
                Workloads.awaitGone(pid, WAIT);
                String table = lockTables().stream().filter(t -> t.endsWith("_" + part)).findFirst().orElseThrow();
                CliResult del = Sls.run(List.of("nft", "delete", "table", "inet", table), Duration.ofSeconds(20));
                assertEquals(0, del.exit(), del.all());

                CliResult r = sls.ctl("restore", "-o", part);
                assertEquals(0, r.exit(), r.all() + sls.daemonLog());
                started.add(pid);
                assertTrue(sls.daemonLog().contains("restored as a closed socket: no network lock"), sls.daemonLog());
                // the server holds no connection for it any more: the client's next segment draws a reset
                c.socket.setSoTimeout((int) Duration.ofSeconds(90).toMillis());
                IOException ended = assertThrows(IOException.class, () -> {
                    c.send(2);
                    if (c.in.readLine() == null) {
                        throw new IOException("EOF");
                    }
                });
                assertFalse(ended instanceof SocketTimeoutException, "the client learns the connection is gone: " + ended);
                try (Client d = connectWhenUp(port)) {
                    d.exchange(1); // and the server takes it back as a new client
                }
            }
        }
    }

    @Test
    void aFailedKillLeavesTheServerRunningAndNoLock(@TempDir Path tmp) throws Exception {
        String part = "nlfail" + ProcessHandle.current().pid();
        int port = freePort();
        try (Sls sls = Sls.format(tmp, "1G")) {
            sls.startDaemon();
            long pid = spawnServer(sls, part, port, tmp.resolve("server.log"));
            try (Client c = connectWhenUp(port)) {
                c.exchange(5);
                c.out.write("userfaultfd\n".getBytes(StandardCharsets.US_ASCII));
                c.out.flush();
                assertTrue(c.in.readLine().matches("userfaultfd \\d+"), "the server holds a userfaultfd");

                CliResult ck = sls.ctl("checkpoint", "-o", part, "--kill");
                assertEquals(1, ck.exit(), ck.all() + sls.daemonLog());
                assertTrue(ck.err().contains("userfaultfd"), "the refusal names the fd's kind: " + ck.err());
                assertFalse(locked(part), "the lock is gone: " + lockTables());
                assertTrue(Files.exists(Path.of("/proc/" + pid)), "the server still runs");
                assertNotEquals('Z', Files.readString(Path.of("/proc/" + pid + "/stat")).split(" ")[2].charAt(0));

                // its client carries on, as if nothing happened
                for (long n = 6; n <= 9; n++) {
                    c.exchange(n);
                }
                CliResult listed = sls.ctl("listsnaps", "-o", part, "--json");
                assertEquals(0, listed.exit(), listed.all());
                assertEquals(0, Codec.MAPPER.readTree(listed.out()).size(), "no epoch was committed: " + listed.out());
            }
        }
    }
}
