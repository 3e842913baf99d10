package org.sls.tests;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.libsls.protocol.Codec;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Multi-process servers in a partition through SIGKILL and restore with the real slsd and slsctl:
 * nginx with a master and two workers (a listening socket shared by all three, an epoll and an
 * eventfd per worker, socketpair channels between master and workers, shared anonymous memory, log
 * files opened with O_APPEND, workers running as another user) checkpointed every 10 ms while it
 * serves, its whole tree killed, restored under the same pids and parents, serving the same content
 * on the same port and still reloading its configuration on SIGHUP. Every process started or
 * restored is ended by pid (a master before its workers, so that it cannot respawn them), even on
 * failure.
 */
class MultiProcessServersTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private final List<Long> started = new ArrayList<>();

    @AfterEach
    void endProcesses() {
        for (long pid : started) {
            List<Long> children = children(pid);
            Workloads.kill(pid);
            children.forEach(Workloads::kill);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            return s.getLocalPort();
        }
    }

    /** The children of a process (every thread's), empty when it is gone. */
    private static List<Long> children(long pid) {
        List<Long> out = new ArrayList<>();
        try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
            for (Path t : tasks.toList()) {
                for (String c : Files.readString(t.resolve("children")).trim().split("\\s+")) {
                    if (!c.isEmpty()) {
                        out.add(Long.parseLong(c));
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // gone
        }
        return out;
    }

    /** Field 4 of /proc/PID/stat. */
    private static long parent(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[1]);
    }

    /** The "Uid:" line of /proc/PID/status (real, effective, saved, fs). */
    private static String uids(long pid) throws IOException {
        return Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream().filter(l -> l.startsWith("Uid:")).findFirst()
                .orElseThrow();
    }

    private record Reply(int status, String body) {}

    /** One HTTP/1.0 GET on a new connection. */
    private static Reply get(int port, String path) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            s.setSoTimeout(30_000);
            s.getOutputStream().write(("GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            String all = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
            int head = all.indexOf("\r\n\r\n");
            if (!all.startsWith("HTTP/") || head < 0) {
                throw new IOException("not an HTTP reply: " + all);
            }
            return new Reply(Integer.parseInt(all.split(" ", 3)[1]), all.substring(head + 4));
        }
    }

    private static Reply getWhenUp(int port, String path) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            try {
                return get(port, path);
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
            }
            Sls.sleep(50);
        }
    }

    private static String nginxConfig(Path dir, int port, boolean reloaded) {
        return String.join("\n",
                "master_process on;",
                "worker_processes 2;",
                "daemon off;",
                "pid " + dir.resolve("nginx.pid") + ";",
                "error_log " + dir.resolve("logs/error.log") + " notice;",
                "events { worker_connections 256; }",
                "http {",
                "  log_format bypid '$pid $request_uri $status';",
                "  access_log " + dir.resolve("logs/access.log") + " bypid;",
                "  client_body_temp_path " + dir.resolve("temp/body") + ";",
                "  proxy_temp_path " + dir.resolve("temp/proxy") + ";",
                "  fastcgi_temp_path " + dir.resolve("temp/fastcgi") + ";",
                "  uwsgi_temp_path " + dir.resolve("temp/uwsgi") + ";",
                "  scgi_temp_path " + dir.resolve("temp/scgi") + ";",
                "  server {",
                "    listen 127.0.0.1:" + port + ";",
                "    root " + dir.resolve("www") + ";",
                reloaded ? "    location = /reloaded { return 200 \"configuration reloaded\\n\"; }" : "",
                "  }",
                "}",
                "");
    }

    private static String nginx() {
        return Files.isExecutable(Path.of("/usr/sbin/nginx")) ? "/usr/sbin/nginx" : "nginx";
    }

    private static List<String> accessLog(Path dir) throws IOException {
        return Files.readAllLines(dir.resolve("logs/access.log"));
    }

    /**
     * SIGKILL to the master and its workers back to back, before waiting for any: a periodic
     * checkpoint cannot fall between two deaths and commit a part of the tree as the newest epoch.
     */
    private static void crash(long master, List<Long> workers) {
        ProcessHandle.of(master).ifPresent(ProcessHandle::destroyForcibly);
        for (long w : workers) {
            ProcessHandle.of(w).ifPresent(ProcessHandle::destroyForcibly);
        }
        Workloads.kill(master);
        for (long w : workers) {
            Workloads.kill(w);
        }
    }

    /** Restores partition nginx; asserts the tree came back as it was; returns the epoch restored. */
    private long restoreTree(Sls sls, long master, List<Long> workers) throws IOException {
        CliResult r = sls.ctl("restore", "-o", "nginx", "--json");
        assertEquals(0, r.exit(), r.all() + sls.daemonLog());
        JsonNode j = Codec.MAPPER.readTree(r.out());
        Set<Long> restored = new HashSet<>();
        for (JsonNode n : j.get("pids")) {
            restored.add(n.longValue());
        }
        started.addAll(restored);
        assertEquals(Set.of(master, workers.get(0), workers.get(1)), restored, "master and both workers under their pids");
        for (long w : workers) {
            assertEquals(master, parent(w), "worker " + w + " is the master's child again");
        }
        assertEquals(Set.copyOf(workers), Set.copyOf(children(master)), "the master has exactly its two workers");
        return j.get("epoch").longValue();
    }

    @Test
    void nginxMasterAndWorkersComeBackUnderTheirPidsAndServe(@TempDir Path tmp) throws Exception {
        // the workers run as nobody: they must reach the documents
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path dir = Files.createDirectories(tmp.resolve("nginx"));
        Files.createDirectories(dir.resolve("logs"));
        Files.createDirectories(dir.resolve("temp"));
        Path www = Files.createDirectories(dir.resolve("www"));
        String page = "hello from nginx before the crash\n";
        Files.writeString(www.resolve("index.html"), page);
        int port = freePort();
        Path conf = dir.resolve("nginx.conf");
        Files.writeString(conf, nginxConfig(dir, port, false));
        Process p = new ProcessBuilder(nginx(), "-p", dir.toString(), "-c", conf.toString(), "-e", dir.resolve("logs/error.log").toString())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(dir.resolve("logs/stdout.log").toFile()).redirectErrorStream(true).start();
        long master = p.pid();
        started.add(master);
        assertEquals(200, getWhenUp(port, "/index.html").status(), "nginx serves: " + Files.readString(dir.resolve("logs/error.log")));
        List<Long> workers = children(master);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (workers.size() < 2 && System.nanoTime() < deadline) {
            Sls.sleep(50);
            workers = children(master);
        }
        assertEquals(2, workers.size(), "two workers: " + workers);
        String masterUids = uids(master);
        List<String> workerUids = new ArrayList<>();
        for (long w : workers) {
            workerUids.add(uids(w));
        }

        Sls sls = Sls.format(tmp, "2G");
        try (sls) {
            sls.startDaemon();
            assertEquals(0, sls.ctl("partadd", "-o", "nginx", "--period", "10", "--keep", "20").exit());
            CliResult at = sls.ctl("attach", "-p", Long.toString(master), "-o", "nginx");
            assertEquals(0, at.exit(), at.all());

            // the load: GETs on new connections from two threads while the partition is checkpointed
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong served = new AtomicLong();
            List<String> wrong = new ArrayList<>();
            List<Thread> load = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                Thread th = new Thread(() -> {
                    while (!stop.get()) {
                        try {
                            Reply r = get(port, "/index.html");
                            if (r.status() == 200 && r.body().equals(page)) {
                                served.incrementAndGet();
                            } else {
                                synchronized (wrong) {
                                    wrong.add(r.toString());
                                }
                            }
                        } catch (IOException e) {
                            if (!stop.get()) {
                                synchronized (wrong) {
                                    wrong.add(e.toString());
                                }
                            }
                        }
                    }
                }, "nginx-load-" + t);
                th.start();
                load.add(th);
            }
            // serve under checkpoints for a while: a few epochs committed and requests answered
            deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (System.nanoTime() < deadline && (sls.newestSnapshot("nginx", "epoch") < 10 || served.get() < 200)) {
                Sls.sleep(200);
            }
            assertTrue(sls.newestSnapshot("nginx", "epoch") >= 10, "periodic checkpoints of nginx: " + sls.ctl("status").all() + sls.daemonLog());
            assertTrue(served.get() >= 200, "requests served under checkpoints: " + served.get());

            // the crash, with requests in flight: the whole tree, the master first so that it cannot respawn a worker
            stop.set(true);
            crash(master, workers);
            for (Thread th : load) {
                th.join(30_000);
            }
            synchronized (wrong) {
                assertEquals(List.of(), wrong, "every request before the kill answered with the page; "
                        + sls.ctl("status").all() + sls.daemonLog());
            }
            Workloads.awaitGone(master, WAIT);
            for (long w : workers) {
                Workloads.awaitGone(w, WAIT);
            }
            List<String> loggedBeforeRestore = accessLog(dir);
            assertTrue(loggedBeforeRestore.size() >= 200, "access log lines: " + loggedBeforeRestore.size());

            long restoredEpoch = restoreTree(sls, master, workers);
            assertEquals(masterUids, uids(master));
            for (int i = 0; i < workers.size(); i++) {
                assertEquals(workerUids.get(i), uids(workers.get(i)), "worker " + workers.get(i) + " credentials");
            }

            // clients reconnect: the same port, the same page, served by the restored workers
            int after = 50;
            for (int i = 0; i < after; i++) {
                Reply a = getWhenUp(port, "/index.html?after=" + i);
                assertEquals(200, a.status());
                assertEquals(page, a.body());
            }
            List<String> log = accessLog(dir);
            // O_APPEND kept: the lines written before the kill stay as they were, the new ones follow
            assertEquals(loggedBeforeRestore, log.subList(0, Math.min(log.size(), loggedBeforeRestore.size())),
                    "the access log's lines from before the kill");
            List<String> newLines = log.subList(loggedBeforeRestore.size(), log.size()).stream()
                    .filter(l -> l.contains("?after=")).toList();
            assertEquals(after, newLines.size(), "each request after the restore logged once: " + newLines);
            Set<Long> servedBy = new HashSet<>();
            for (String line : newLines) {
                servedBy.add(Long.parseLong(line.split(" ")[0]));
            }
            assertTrue(Set.copyOf(workers).containsAll(servedBy), "requests after the restore served by the restored workers "
                    + workers + ", not by " + servedBy);
            // a new kind of request on many connections at once
            List<Thread> clients = new ArrayList<>();
            AtomicLong ok = new AtomicLong();
            for (int t = 0; t < 8; t++) {
                Thread th = new Thread(() -> {
                    try {
                        for (int i = 0; i < 10; i++) {
                            if (get(port, "/index.html").body().equals(page)) {
                                ok.incrementAndGet();
                            }
                        }
                    } catch (IOException e) {
                        // counted as missing below
                    }
                });
                th.start();
                clients.add(th);
            }
            for (Thread th : clients) {
                th.join(60_000);
            }
            assertEquals(80, ok.get(), "concurrent clients after the restore");

            // the restored tree is checkpointed again, and comes back from such a checkpoint after a second crash
            deadline = System.nanoTime() + WAIT.toNanos();
            while (sls.newestSnapshot("nginx", "epoch") < restoredEpoch + 3 && System.nanoTime() < deadline) {
                Sls.sleep(100);
            }
            assertTrue(sls.newestSnapshot("nginx", "epoch") >= restoredEpoch + 3, "checkpoints after the restore of epoch " + restoredEpoch + ": "
                    + sls.ctl("status").all() + sls.daemonLog());
            crash(master, workers);
            Workloads.awaitGone(master, WAIT);
            for (long w : workers) {
                Workloads.awaitGone(w, WAIT);
            }
            assertTrue(restoreTree(sls, master, workers) > restoredEpoch, "the second restore uses a later epoch");
            assertEquals(new Reply(200, page), getWhenUp(port, "/index.html"));
            assertEquals(404, get(port, "/reloaded").status());

            // a reload still works: the master reads the new configuration and replaces its workers
            Files.writeString(conf, nginxConfig(dir, port, true));
            CliResult hup = Sls.run(List.of("kill", "-HUP", Long.toString(master)), Duration.ofSeconds(10));
            assertEquals(0, hup.exit(), hup.all());
            deadline = System.nanoTime() + WAIT.toNanos();
            Reply reloaded = get(port, "/reloaded");
            while (reloaded.status() != 200 && System.nanoTime() < deadline) {
                Sls.sleep(100);
                reloaded = get(port, "/reloaded");
            }
            assertEquals(new Reply(200, "configuration reloaded\n"), reloaded, Files.readString(dir.resolve("logs/error.log")));
            List<Long> now = children(master);
            deadline = System.nanoTime() + WAIT.toNanos();
            while ((now.size() != 2 || now.stream().anyMatch(workers::contains)) && System.nanoTime() < deadline) {
                Sls.sleep(100);
                now = children(master);
            }
            started.addAll(now);
            assertEquals(2, now.size(), "two new workers after the reload: " + now);
            assertTrue(now.stream().noneMatch(workers::contains), "the old workers left after the reload: " + now);
            for (long w : workers) {
                Workloads.awaitGone(w, WAIT);
            }
            assertEquals(page, get(port, "/index.html").body());
        }
    }
}
