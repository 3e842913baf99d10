package org.sls.tests;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The store as a user meets it from the command line: newfs, its refusals, fsck.
 */
class StoreCliTest {

    @Test
    void newfsRefusesToOverwriteAStoreWithoutForce(@TempDir Path tmp) throws Exception {
        Sls sls = Sls.format(tmp, "64M");
        assertTrue(Files.isDirectory(tmp.resolve("store.img.meta")), "metadata beside the image");
        assertEquals(64L << 20, Files.size(sls.store()));
        CliResult again = sls.ctlNoSocket("newfs", "--size", "64M", sls.store().toString());
        assertEquals(1, again.exit(), again.all());
        assertTrue(again.err().contains(sls.store().toString()) && again.err().contains("--force"), again.all());
        CliResult forced = sls.ctlNoSocket("newfs", "--force", sls.store().toString());
        assertEquals(0, forced.exit(), forced.all());
        assertTrue(forced.out().contains("uuid"), forced.all());
        CliResult noSize = sls.ctlNoSocket("newfs", tmp.resolve("other.img").toString());
        assertEquals(1, noSize.exit(), noSize.all());
        assertTrue(noSize.err().contains("--size") || noSize.err().contains("size"), noSize.all());
        CliResult badSize = sls.ctlNoSocket("newfs", "--size", "lots", tmp.resolve("x.img").toString());
        assertEquals(2, badSize.exit(), badSize.all());
    }

    @Test
    void slsdRefusesAStoreWhoseMetadataBelongsToAnotherStore(@TempDir Path tmp) throws Exception {
        Path a = Files.createDirectory(tmp.resolve("a"));
        Path b = Files.createDirectory(tmp.resolve("b"));
        Sls first = Sls.format(a, "64M");
        Sls second = Sls.format(b, "64M");
        Process p = first.launchDaemon("--meta", b.resolve("store.img.meta").toString());
        try {
            assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
            assertEquals(1, p.exitValue());
        } finally {
            Sls.stop(p);
        }
        String log = first.daemonLog();
        assertTrue(log.contains("UUID") && log.contains(first.store().toString()), log);
        CliResult fsck = second.ctlNoSocket("fsck", "--store", first.store().toString(), "--meta", b.resolve("store.img.meta").toString());
        assertEquals(1, fsck.exit(), fsck.all());
        assertTrue(fsck.err().contains("UUID"), fsck.all());
    }

    @Test
    void aFullStoreFailsTheCheckpointClearlyAndLosesNothing(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("hog.log");
        Sls sls = Sls.format(tmp, "48M");
        Process hog = new ProcessBuilder(Workloads.binary("hog").toString(), report.toString(), "96")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectErrorStream(true).start();
        try (sls) {
            Workloads.awaitGrowth(report, 1, java.time.Duration.ofSeconds(30));
            sls.startDaemon();
            assertEquals(0, sls.ctl("partadd", "-o", "big").exit());
            assertEquals(0, sls.ctl("attach", "-p", Long.toString(hog.pid()), "-o", "big").exit());
            CliResult r = sls.ctl("checkpoint", "-o", "big");
            assertEquals(1, r.exit(), r.all());
            assertTrue(r.err().contains("store full"), r.all());
            assertEquals("", sls.ctl("listsnaps", "-o", "big", "-H").out(), "nothing committed");
            assertEquals("0", CheckpointCliTest.tracerPid(hog.pid()), "the process was let go");
            int n = Workloads.count(report);
            Workloads.awaitGrowth(report, n, java.time.Duration.ofSeconds(30));
            CliResult fsck = sls.ctl("fsck");
            assertEquals(0, fsck.exit(), "the failed checkpoint left the store clean: " + fsck.all());
            CliResult status = sls.ctl("status", "--json");
            assertTrue(status.out().contains("\"freeBytes\""), status.all());
        } finally {
            Workloads.kill(hog.pid());
        }
    }

    @Test
    void fsckThroughSlsdAndOfflineAndADamagedSuperblockIsFoundAndRepaired(@TempDir Path tmp) throws Exception {
        try (Sls sls = Sls.start(tmp)) {
            assertEquals(0, sls.ctl("partadd", "-o", "p").exit());
            CliResult online = sls.ctl("fsck");
            assertEquals(0, online.exit(), online.all());
            assertTrue(online.out().contains("clean"), online.all());
            CliResult whileOpen = sls.ctlNoSocket("fsck", "--store", sls.store().toString());
            assertEquals(1, whileOpen.exit(), "the daemon holds the store: " + whileOpen.all());
            assertTrue(whileOpen.err().contains(sls.store().toString()), whileOpen.all());

            assertEquals(0, sls.stopDaemon());
            try (RandomAccessFile f = new RandomAccessFile(sls.store().toFile(), "rw")) {
                f.seek(100); // inside the first superblock copy
                int b = f.read();
                f.seek(100);
                f.write(b ^ 0x5a);
            }
            CliResult damaged = sls.ctlNoSocket("fsck", "--store", sls.store().toString());
            assertEquals(4, damaged.exit(), damaged.all());
            assertTrue(damaged.out().contains("SUPERBLOCK"), damaged.all());
            CliResult repaired = sls.ctlNoSocket("fsck", "--repair", "--store", sls.store().toString());
            assertEquals(0, repaired.exit(), repaired.all());
            assertTrue(repaired.out().contains("(repaired)"), repaired.all());
            CliResult after = sls.ctlNoSocket("fsck", "--store", sls.store().toString());
            assertEquals(0, after.exit(), after.all());
            sls.startDaemon();
            assertTrue(sls.ctl("status", "-H").out().startsWith("p\t"), "the partition survived");
        }
    }
}
