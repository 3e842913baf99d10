package org.sls.tests;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * PostgreSQL (postmaster and its background processes, as user nobody) through checkpoint -r,
 * SIGKILL of the whole tree and restore, as after a reboot: its SysV segment and its POSIX shm
 * objects (dynamic shared memory) are removed before the restore and come back from the
 * checkpoint under the same id and names. The restored server answers, writes, and shuts down
 * cleanly. Every process is ended by pid, the server stopped, even on failure.
 */
class PostgresTest {
    private static final String BIN = "/usr/lib/postgresql/15/bin/";
    private static final Duration WAIT = Duration.ofSeconds(60);

    private static CliResult asNobody(String... cmd) {
        List<String> c = new ArrayList<>(List.of("runuser", "-u", "nobody", "--"));
        c.addAll(List.of(cmd));
        return Sls.run(c, WAIT);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            return s.getLocalPort();
        }
    }

    private static String sql(int port, String q) {
        CliResult r = asNobody(BIN + "psql", "-h", "127.0.0.1", "-p", Integer.toString(port), "-d", "postgres", "-At",
                "-c", q);
        assertEquals(0, r.exit(), q + ": " + r.all());
        return r.out().trim();
    }

    private static List<Long> tree(long pid) throws IOException {
        List<Long> out = new ArrayList<>(List.of(pid));
        for (String c : Files.readString(Path.of("/proc/" + pid + "/task/" + pid + "/children")).trim().split("\\s+")) {
            if (!c.isEmpty()) {
                out.add(Long.parseLong(c));
            }
        }
        return out;
    }

    @Test
    void postgresComesBackAfterSigkillWithItsSharedMemoryRecreated(@TempDir Path tmp) throws Exception {
        assumeTrue(Files.isExecutable(Path.of(BIN + "postgres")), "PostgreSQL 15 is installed (scripts/install-deps)");
        Path dir = Files.createDirectories(tmp.resolve("pg"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path data = dir.resolve("data");
        int port = freePort();
        List<Long> pids = new ArrayList<>();
        try (Sls sls = Sls.start(tmp)) {
            CliResult init = asNobody(BIN + "initdb", "-D", data.toString());
            assertEquals(0, init.exit(), init.all());
            CliResult start = asNobody(BIN + "pg_ctl", "-D", data.toString(), "-l", dir.resolve("pg.log").toString(),
                    "-o", "-k " + dir + " -p " + port + " -h 127.0.0.1", "-w", "start");
            assertEquals(0, start.exit(), start.all());
            long postmaster = Long.parseLong(Files.readAllLines(data.resolve("postmaster.pid")).get(0).trim());
            pids.add(postmaster);
            assertEquals("CREATE TABLE\nINSERT 0 1000", sql(port, "create table t(x int); insert into t select generate_series(1, 1000)"));

            assertEquals(0, sls.ctl("check", "--pid", Long.toString(postmaster), "-r").exit());
            assertEquals(0, sls.ctl("partadd", "-o", "pg", "--mode", "full").exit());
            assertEquals(0, sls.ctl("attach", "-p", Long.toString(postmaster), "-o", "pg").exit());
            CliResult ck = sls.ctl("checkpoint", "-o", "pg", "-r");
            assertEquals(0, ck.exit(), ck.all() + sls.daemonLog());

            // what a reboot takes away: its SysV segment and its POSIX shm objects, as its maps name them
            String maps = Files.readString(Path.of("/proc/" + postmaster + "/maps"));
            List<String> shm = new ArrayList<>();
            List<String> sysv = new ArrayList<>();
            for (String l : maps.lines().toList()) {
                String[] f = l.trim().split("\\s+");
                if (f.length >= 6 && f[5].startsWith("/dev/shm/PostgreSQL.") && !shm.contains(f[5])) {
                    shm.add(f[5]);
                }
                if (f.length >= 6 && f[5].startsWith("/SYSV") && !sysv.contains(f[4])) {
                    sysv.add(f[4]);
                }
            }
            assertEquals(1, sysv.size(), maps);
            pids.clear();
            pids.addAll(tree(postmaster));
            Sls.run(List.of("kill", "-STOP", Long.toString(postmaster)), WAIT);
            for (long p : pids) {
                Workloads.kill(p);
            }
            for (long p : pids) {
                Workloads.awaitGone(p, WAIT);
            }
            for (String id : sysv) {
                Sls.run(List.of("ipcrm", "-m", id), WAIT);
            }
            for (String f : shm) {
                Files.deleteIfExists(Path.of(f));
            }

            CliResult r = sls.ctl("restore", "-o", "pg");
            assertEquals(0, r.exit(), r.all() + sls.daemonLog());
            assertTrue(Files.readString(Path.of("/proc/sysvipc/shm")).lines()
                    .anyMatch(l -> l.trim().split("\\s+")[1].equals(sysv.get(0))), "the SysV segment is back under its id");
            for (String f : shm) {
                assertTrue(Files.exists(Path.of(f)), f + " is back");
            }
            assertEquals("1000", sql(port, "select count(*) from t"));
            assertEquals("INSERT 0 1", sql(port, "insert into t values (7)"));
            assertEquals("1001", sql(port, "select count(*) from t"));
            CliResult stop = asNobody(BIN + "pg_ctl", "-D", data.toString(), "-w", "stop");
            assertEquals(0, stop.exit(), "the restored server shuts down cleanly: " + stop.all());
        } finally {
            if (Files.exists(data.resolve("postmaster.pid"))) {
                asNobody(BIN + "pg_ctl", "-D", data.toString(), "-m", "immediate", "stop");
            }
            for (long p : pids) {
                Workloads.kill(p);
            }
        }
    }
}
