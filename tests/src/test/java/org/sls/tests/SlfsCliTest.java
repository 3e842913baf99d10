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
            assertEquals(snapRecords.size() + 1, Workloads.field(after.get(0), "count"),
                    "the restored process resumes right after the last record the rolled-back file holds");
            assertFalse(records.size() <= snapRecords.size(), "it appended after the restore");
        }
        assertFalse(Files.readString(Path.of("/proc/mounts")).contains(mnt.toString()), "slsd unmounted slfs when it stopped");
    }
}
