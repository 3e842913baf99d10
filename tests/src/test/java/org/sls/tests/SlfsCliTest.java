package org.sls.tests;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * slfs inside slsd: a partition's files are checkpointed with its processes and rolled back with
 * them; every checkpoint can be browsed, and gdb opens a process's core from it.
 */
class SlfsCliTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private final List<Long> started = new ArrayList<>();

    @AfterEach
    void endWorkloads() {
        started.forEach(Workloads::kill);
    }

    @Test
    void filesRollBackWithMemoryAndSnapshotsCanBeBrowsedAndDebugged(@TempDir Path tmp) throws Exception {
        Path mnt = tmp.resolve("mnt");
        Path report = tmp.resolve("appender.log");
        Sls sls = Sls.format(tmp, "512M");
        try (sls) {
            sls.startDaemon("--mount", mnt.toString());
            assertEquals(0, sls.ctl("partadd", "-o", "db").exit());
            Path dir = mnt.resolve("db");
            assertTrue(Files.isDirectory(dir), "the partition's directory appears in slfs");
            Path data = dir.resolve("records.txt");
            Path binary = Workloads.binary("appender", "-O0");
            CliResult spawn = sls.ctl("spawn", "-o", "db", "--", binary.toString(), data.toString(), report.toString());
            assertEquals(0, spawn.exit(), spawn.all() + sls.daemonLog());
            long pid = Long.parseLong(spawn.out().trim());
            started.add(pid);
            Workloads.awaitGrowth(report, 5, WAIT);

            CliResult ck = sls.ctl("checkpoint", "-o", "db");
            assertEquals(0, ck.exit(), ck.all() + sls.daemonLog());
            String epoch = ck.out().trim();
            Workloads.awaitGrowth(report, Workloads.count(report) + 10, WAIT); // more appends after the checkpoint
            Workloads.kill(pid);
            Workloads.awaitGone(pid, WAIT);
            long recordsBeforeRestore = Files.readAllLines(data).size();

            // the checkpoint, browsable
            Path snap = mnt.resolve(".snapshots/db/" + epoch);
            List<String> snapRecords = Files.readAllLines(snap.resolve("files/records.txt"));
            assertTrue(snapRecords.size() < recordsBeforeRestore, "the snapshot holds fewer records than were written after it");
            assertTrue(Files.readString(snap.resolve("manifest.json")).contains("\"pid\" : " + pid), "manifest.json names the process");
            String maps = Files.readString(snap.resolve(pid + "/maps"));
            assertTrue(maps.contains(binary.toString()) && maps.contains("[stack]"), maps);
            assertTrue(Files.readString(snap.resolve(pid + "/state.json")).contains("\"rip\""), "state.json has the registers");
            CliResult gdb = Sls.run(List.of("gdb", "-batch", "-nx", "-ex", "bt", binary.toString(), snap.resolve(pid + "/core").toString()),
                    Duration.ofMinutes(2));
            assertTrue(gdb.out().contains("append_forever") && gdb.out().contains("main"), "gdb shows the workload's functions: " + gdb.all());
            Path core = tmp.resolve("appender.core");
            CliResult coreCmd = sls.ctl("core", "-o", "db", "--epoch", epoch, "--pid", Long.toString(pid), "-O", core.toString());
            assertEquals(0, coreCmd.exit(), coreCmd.all());
            assertEquals(Files.size(snap.resolve(pid + "/core")), Files.size(core), "slsctl core writes the same file");

            int from = Workloads.count(report);
            CliResult r = sls.ctl("restore", "-o", "db");
            assertEquals(0, r.exit(), r.all() + sls.daemonLog());
            Workloads.awaitGrowth(report, from + 5, WAIT);
            Workloads.kill(pid);
            Workloads.awaitGone(pid, WAIT);

            List<String> records = Files.readAllLines(data);
            for (int i = 0; i < records.size(); i++) {
                assertEquals("record " + (i + 1), records.get(i), "records run 1..N without gap or repeat: file and memory agree");
            }
            List<String> after = Workloads.lines(report).subList(from, Workloads.count(report));
            // The workload writes record N, then reports N. A checkpoint that froze it between the two
            // restores a process that first reports N (the record already in the file), then N+1.
            long first = Workloads.field(after.get(0), "count");
            long next = first == snapRecords.size() ? Workloads.field(after.get(1), "count") : first;
            assertEquals(snapRecords.size() + 1, next,
                    "the restored process resumes right after the last record the rolled-back file holds: " + after);
            assertFalse(records.size() <= snapRecords.size(), "it appended after the restore");
        }
        assertFalse(Files.readString(Path.of("/proc/mounts")).contains(mnt.toString()), "slsd unmounted slfs when it stopped");
    }

    @Test
    void anSqliteDatabaseKilledMidTransactionComesBackWithExactlyTheCommittedRowsOfTheEpoch(@TempDir Path tmp) throws Exception {
        Path mnt = tmp.resolve("mnt");
        Path report = tmp.resolve("sqlite.log");
        // each transaction inserts one row and sleeps inside it, so a SIGKILL lands mid-transaction
        String program = String.join("\n",
                "import os, sqlite3, sys, time",
                "db = sqlite3.connect(sys.argv[1], isolation_level=None)",
                "db.execute('PRAGMA journal_mode=WAL')",
                "db.execute('CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)')",
                "n = db.execute('SELECT COUNT(*) FROM t').fetchone()[0]",
                "while True:",
                "    db.execute('BEGIN')",
                "    db.execute('INSERT INTO t (id, v) VALUES (?, ?)', (n + 1, 'x' * 200))",
                "    time.sleep(0.02)",
                "    db.execute('COMMIT')",
                "    n += 1",
                "    with open(sys.argv[2], 'a') as f:",
                "        f.write('pid=%d count=%d\\n' % (os.getpid(), n))");
        Path script = tmp.resolve("fill.py");
        Files.writeString(script, program);
        Sls sls = Sls.format(tmp, "512M");
        try (sls) {
            sls.startDaemon("--mount", mnt.toString());
            assertEquals(0, sls.ctl("partadd", "-o", "sql").exit());
            Path db = mnt.resolve("sql/data.db");
            CliResult spawn = sls.ctl("spawn", "-o", "sql", "--", "/usr/bin/python3", script.toString(), db.toString(), report.toString());
            assertEquals(0, spawn.exit(), spawn.all() + sls.daemonLog());
            long pid = Long.parseLong(spawn.out().trim());
            started.add(pid);
            Workloads.awaitGrowth(report, 20, WAIT);
            long before = Workloads.field(Workloads.lastLine(report), "count");
            CliResult ck = sls.ctl("checkpoint", "-o", "sql");
            assertEquals(0, ck.exit(), ck.all() + sls.daemonLog());
            long after = Workloads.field(Workloads.lastLine(report), "count");
            Workloads.awaitGrowth(report, Workloads.count(report) + 20, WAIT);
            Workloads.kill(pid);
            Workloads.awaitGone(pid, WAIT);

            CliResult r = sls.ctl("restore", "-o", "sql", "-s");
            assertEquals(0, r.exit(), r.all() + sls.daemonLog());
            Workloads.kill(pid); // look at the database as the epoch left it, not as the restored process goes on
            Workloads.awaitGone(pid, WAIT);
            CliResult check = Sls.run(java.util.List.of("sqlite3", db.toString(),
                    "PRAGMA integrity_check; SELECT COUNT(*), MIN(id), MAX(id) FROM t;"), Duration.ofMinutes(1));
            assertEquals(0, check.exit(), check.all());
            java.util.List<String> out = check.out().lines().toList();
            assertEquals("ok", out.get(0), check.all());
            String[] f = out.get(1).split("\\|");
            long rows = Long.parseLong(f[0]);
            assertEquals(rows, Long.parseLong(f[2]), "rows 1..N, none missing: " + out);
            assertTrue(rows >= before && rows <= after, "the rows committed at the checkpoint (" + before + ".." + after + "), got " + rows);
        }
    }
}
