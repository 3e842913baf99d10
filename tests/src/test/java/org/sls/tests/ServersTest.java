package org.sls.tests;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.libsls.protocol.Codec;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Real servers in a partition through SIGKILL and restore with the real slsd and slsctl: redis
 * under a load of SETs with a 10 ms period (every key acknowledged well before the last durable
 * epoch is there afterwards, and clients reconnect), memcached keeping its items, and python3's http.server answering on the
 * same port. Connections from the test (outside the partition) come back closed; the servers drop
 * them and accept new ones. Every process started or restored is ended by pid, even on failure.
 */
class ServersTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private final List<Long> started = new ArrayList<>();

    @AfterEach
    void endProcesses() {
        started.forEach(Workloads::kill);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            return s.getLocalPort();
        }
    }

    private long startServer(Path log, String... cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(log.toFile()).redirectErrorStream(true).start();
        started.add(p.pid());
        return p.pid();
    }

    /** A tiny RESP client over one socket. Not thread-safe. */
    private static final class Resp implements AutoCloseable {
        private final Socket s;
        private final OutputStream out;
        private final InputStream in;

        Resp(int port) throws IOException {
            s = new Socket();
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            s.setSoTimeout(5000);
            out = s.getOutputStream();
            in = new BufferedInputStream(s.getInputStream());
        }

        /** Sends a command; returns the reply line (a bulk string's content, or null for a nil one). */
        String call(String... args) throws IOException {
            StringBuilder b = new StringBuilder("*").append(args.length).append("\r\n");
            for (String a : args) {
                b.append('$').append(a.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(a).append("\r\n");
            }
            out.write(b.toString().getBytes(StandardCharsets.UTF_8));
            out.flush();
            String line = line();
            if (line.startsWith("$")) {
                int n = Integer.parseInt(line.substring(1));
                if (n < 0) {
                    return null;
                }
                byte[] v = in.readNBytes(n + 2);
                return new String(v, 0, n, StandardCharsets.UTF_8);
            }
            return line;
        }

        private String line() throws IOException {
            StringBuilder b = new StringBuilder();
            int c;
            while ((c = in.read()) != '\n') {
                if (c < 0) {
                    throw new IOException("connection closed");
                }
                if (c != '\r') {
                    b.append((char) c);
                }
            }
            return b.toString();
        }

        @Override
        public void close() throws IOException {
            s.close();
        }
    }

    private static Resp connectWhenUp(int port) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            try {
                Resp r = new Resp(port);
                if ("+PONG".equals(r.call("PING"))) {
                    return r;
                }
                r.close();
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
            }
            Sls.sleep(50);
        }
    }

    private record Ack(String key, long millis) {}

    @Test
    void redisUnderLoadKeepsEveryKeyAcknowledgedBeforeTheLastDurableEpoch(@TempDir Path tmp) throws Exception {
        int port = freePort();
        long pid = startServer(tmp.resolve("redis.log"), "redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no");
        connectWhenUp(port).close();
        Sls sls = Sls.format(tmp, "2G");
        try (sls) {
            sls.startDaemon();
            assertEquals(0, sls.ctl("partadd", "-o", "redis", "--period", "10", "--keep", "20").exit());
            CliResult at = sls.ctl("attach", "-p", Long.toString(pid), "-o", "redis");
            assertEquals(0, at.exit(), at.all());

            // the load: SETs on two connections, each acknowledged key recorded with its time
            ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> load = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                int id = t;
                Thread th = new Thread(() -> {
                    try (Resp r = new Resp(port)) {
                        for (int i = 0; !stop.get(); i++) {
                            String k = "k" + id + ":" + i;
                            if ("+OK".equals(r.call("SET", k, "v" + i))) {
                                acks.add(new Ack(k, System.currentTimeMillis()));
                            }
                        }
                    } catch (IOException e) {
                        // the server was killed
                    }
                }, "redis-load-" + t);
                th.start();
                load.add(th);
            }
            // killed once an epoch made more than a second after the hundredth acknowledged key is
            // durable, however long that takes on a busy machine (a long freeze stretches the
            // period through the frozen-time budget): then some keys must come back
            long loadDeadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (acks.size() < 100 && System.nanoTime() < loadDeadline) {
                Sls.sleep(50);
            }
            long hundredth = acks.stream().limit(100).mapToLong(Ack::millis).max().orElse(Long.MAX_VALUE);
            while (sls.newestSnapshot("redis", "committedMillis") <= hundredth + 1000 && System.nanoTime() < loadDeadline) {
                Sls.sleep(200);
            }
            Sls.sleep(300);
            long killMillis = System.currentTimeMillis();
            Workloads.kill(pid);
            stop.set(true);
            for (Thread th : load) {
                th.join(10_000);
            }
            Workloads.awaitGone(pid, WAIT);

            CliResult snaps = sls.ctl("listsnaps", "-o", "redis", "--json");
            assertEquals(0, snaps.exit(), snaps.all());
            long committed = 0;
            for (JsonNode s : Codec.MAPPER.readTree(snaps.out())) {
                long c = s.get("committedMillis").longValue();
                if (c <= killMillis) {
                    committed = Math.max(committed, c);
                }
            }
            assertTrue(committed > 0, "an epoch was durable before the kill: " + snaps.out() + sls.daemonLog());
            long bound = committed - 1000;
            List<String> mustHave = acks.stream().filter(a -> a.millis() < bound).map(Ack::key).toList();
            assertTrue(mustHave.size() > 100, "keys acknowledged a second before the last durable epoch: " + mustHave.size()
                    + " of " + acks.size() + "; epochs: " + snaps.out() + sls.daemonLog());

            CliResult r = sls.ctl("restore", "-o", "redis", "--json");
            assertEquals(0, r.exit(), r.all() + sls.daemonLog());
            long restored = Codec.MAPPER.readTree(r.out()).get("pids").get(0).longValue();
            started.add(restored);
            assertEquals(pid, restored, "redis comes back under its pid");
            try (Resp c = connectWhenUp(port)) {
                List<String> missing = new ArrayList<>();
                for (String k : mustHave) {
                    if (c.call("GET", k) == null) {
                        missing.add(k);
                    }
                }
                assertEquals(List.of(), missing.subList(0, Math.min(10, missing.size())),
                        missing.size() + " of " + mustHave.size() + " acknowledged keys lost");
                assertEquals("+OK", c.call("SET", "after", "restore"));
                assertEquals("restore", c.call("GET", "after"));
            }
            try (Resp second = connectWhenUp(port)) { // more clients reconnect
                assertEquals("restore", second.call("GET", "after"));
            }
        }
    }

    private static String python() throws Exception {
        Process p = new ProcessBuilder("python3", "-c", "import sys; print(sys.executable)").redirectErrorStream(true).start();
        String exe = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(0, p.waitFor(), exe);
        return exe;
    }

    private static HttpResponse<String> get(int port, String path) throws Exception {
        HttpClient c = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        return c.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(10))
                .build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void pythonHttpServerAnswersOnTheSamePortAfterRestore(@TempDir Path tmp) throws Exception {
        Path www = Files.createDirectories(tmp.resolve("www"));
        Files.writeString(www.resolve("hello.txt"), "hello from before the crash\n");
        int port = freePort();
        long pid = startServer(tmp.resolve("http.log"), python(), "-m", "http.server", Integer.toString(port),
                "--bind", "127.0.0.1", "--directory", www.toString());
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            try {
                assertEquals(200, get(port, "/hello.txt").statusCode());
                break;
            } catch (IOException e) {
                assertTrue(System.nanoTime() < deadline, "http.server never answered: " + e);
                Sls.sleep(100);
            }
        }
        try (Sls sls = Sls.start(tmp)) {
            assertEquals(0, sls.ctl("partadd", "-o", "web").exit());
            assertEquals(0, sls.ctl("attach", "-p", Long.toString(pid), "-o", "web").exit());
            CliResult cp = sls.ctl("checkpoint", "-o", "web");
            assertEquals(0, cp.exit(), cp.all() + sls.daemonLog());
            Workloads.kill(pid);
            Workloads.awaitGone(pid, WAIT);
            CliResult r = sls.ctl("restore", "-o", "web", "--json");
            assertEquals(0, r.exit(), r.all() + sls.daemonLog());
            started.add(Codec.MAPPER.readTree(r.out()).get("pids").get(0).longValue());
            Files.writeString(www.resolve("new.txt"), "written after the restore\n");
            HttpResponse<String> a = get(port, "/hello.txt");
            assertEquals(200, a.statusCode());
            assertEquals("hello from before the crash\n", a.body());
            HttpResponse<String> b = get(port, "/new.txt");
            assertEquals("written after the restore\n", b.body());
        }
    }

    @Test
    void memcachedKeepsItsItemsAndTakesNewClients(@TempDir Path tmp) throws Exception {
        int port = freePort();
        long pid = startServer(tmp.resolve("memcached.log"), "memcached", "-p", Integer.toString(port), "-l", "127.0.0.1",
                "-U", "0", "-u", "root", "-m", "16");
        Socket s = null;
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (s == null) {
            try {
                s = new Socket("127.0.0.1", port);
            } catch (IOException e) {
                assertTrue(System.nanoTime() < deadline, "memcached never answered: " + e);
                Sls.sleep(50);
            }
        }
        try (Socket c = s; Sls sls = Sls.start(tmp)) {
            c.setSoTimeout(5000);
            java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(c.getInputStream(), StandardCharsets.US_ASCII));
            for (int i = 0; i < 200; i++) {
                c.getOutputStream().write(("set k" + i + " 0 0 " + ("v" + i).length() + "\r\nv" + i + "\r\n").getBytes(StandardCharsets.US_ASCII));
                assertEquals("STORED", in.readLine());
            }
            assertEquals(0, sls.ctl("partadd", "-o", "mc").exit());
            assertEquals(0, sls.ctl("attach", "-p", Long.toString(pid), "-o", "mc").exit());
            CliResult cp = sls.ctl("checkpoint", "-o", "mc");
            assertEquals(0, cp.exit(), cp.all() + sls.daemonLog());
            Workloads.kill(pid);
            Workloads.awaitGone(pid, WAIT);
            CliResult r = sls.ctl("restore", "-o", "mc", "--json");
            assertEquals(0, r.exit(), r.all() + sls.daemonLog());
            started.add(Codec.MAPPER.readTree(r.out()).get("pids").get(0).longValue());
            try (Socket n = new Socket("127.0.0.1", port)) {
                n.setSoTimeout(5000);
                java.io.BufferedReader nin = new java.io.BufferedReader(new java.io.InputStreamReader(n.getInputStream(), StandardCharsets.US_ASCII));
                for (int i = 0; i < 200; i += 7) {
                    n.getOutputStream().write(("get k" + i + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    assertEquals("VALUE k" + i + " 0 " + ("v" + i).length(), nin.readLine());
                    assertEquals("v" + i, nin.readLine());
                    assertEquals("END", nin.readLine());
                }
            }
        }
    }
}
