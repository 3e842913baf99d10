package org.sls.slfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.slos.EpochInfo;
import org.sls.slos.EpochWriter;

/** Snapshot with a checkpoint epoch, more writes, rollback; restart; the .snapshots view. */
class SnapshotRollbackTest {
    /** Content a daemon would serve: a manifest and one process with a state.json. */
    static final SnapshotContent CONTENT = new SnapshotContent() {
        @Override
        public byte[] manifest(String partition, long epoch) {
            return ("{\"partition\":\"" + partition + "\",\"epoch\":" + epoch + "}").getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public List<Integer> pids(String partition, long epoch) {
            return List.of(4242);
        }

        @Override
        public byte[] file(String partition, long epoch, int pid, String name) {
            return name.equals("state.json") ? ("{\"pid\":" + pid + "}").getBytes(StandardCharsets.UTF_8) : null;
        }
    };

    /** What `find` says about a directory: every entry, its type, size and content hash. */
    static final String LISTING = "cd %s && find . -mindepth 1 | sort | while read f; do "
            + "if [ -L \"$f\" ]; then echo \"$f L $(readlink \"$f\")\"; elif [ -d \"$f\" ]; then echo \"$f D $(stat -c %%a \"$f\")\"; "
            + "else echo \"$f F $(stat -c '%%s %%a %%h' \"$f\") $(md5sum < \"$f\")\"; fi; done";

    @TempDir
    Path tmp;
    Mounted m;

    @BeforeEach
    void mount() {
        m = new Mounted(tmp, CONTENT, "db");
    }

    @AfterEach
    void unmount() {
        m.close();
    }

    /** A checkpoint of "db" as slsd makes one: snapshot (frozen), then write it into the epoch. */
    long checkpoint() {
        FsSnapshot s = m.slfs.snapshot("db");
        long parent = m.store.lastEpoch("db").orElse(0);
        try (EpochWriter w = m.store.beginEpoch("db", parent)) {
            s.writeTo(w);
            w.putBlob("manifest.json", "{}".getBytes(StandardCharsets.UTF_8));
            EpochInfo e = w.commit();
            return e.epoch();
        }
    }

    String listing() {
        return m.sh(String.format(LISTING, "db"));
    }

    @Test
    void rollbackGivesExactlyTheSnapshot() {
        m.sh("cd db && mkdir d && echo one > d/a && echo keep > k && dd if=/dev/urandom of=big bs=64k count=40 status=none "
                + "&& ln k k2 && ln -s d/a sym && echo gone > g && truncate -s 100000 sparse && chmod 600 k");
        String atE1 = listing();
        long e1 = checkpoint();
        m.sh("cd db && echo two >> d/a && rm g && mv k renamed && truncate -s 5 big && dd if=/dev/zero of=big bs=4k seek=3 count=2 conv=notrunc status=none "
                + "&& mkdir new && echo x > new/x && rm sym && chmod 644 renamed && echo late > sparse");
        String atE2 = listing();
        assertNotEquals(atE1, atE2);
        long e2 = checkpoint();
        m.sh("cd db && rm -rf * && echo after > after");

        m.slfs.rollback("db", e1);
        assertEquals(atE1, listing(), "rolled back to the first checkpoint");
        m.sh("echo on-branch > db/branch");
        m.slfs.rollback("db", e2);
        assertEquals(atE2, listing(), "the later checkpoint is still restorable after rolling back");
        m.slfs.rollback("db", e1);
        assertEquals(atE1, listing());

        // the rolled-back state is durable: it is what a restart finds
        m.restart();
        assertEquals(atE1, listing(), "after restart");
        m.slfs.rollback("db", e2);
        assertEquals(atE2, listing(), "checkpoints survive a restart");
    }

    @Test
    void aSnapshotCommittedByLaterFsyncsOutlivesTheCollectionsBeforeItsCheckpointCommits() {
        m.sh("cd db && echo at-the-snapshot > f && seq 1 1000 > n");
        String atSnapshot = listing();
        FsSnapshot s = m.slfs.snapshot("db");
        // each fsync commits what is pending, the snapshot's layer first; enough of them to run collections
        m.sh("cd db && for i in $(seq 1 40); do echo $i >> f && sync f; done");
        long parent = m.store.lastEpoch("db").orElse(0);
        long e;
        try (EpochWriter w = m.store.beginEpoch("db", parent)) {
            s.writeTo(w);
            e = w.commit().epoch();
        }
        m.slfs.rollback("db", e);
        assertEquals(atSnapshot, listing(), "the checkpoint's files are the ones of the snapshot");
    }

    @Test
    void fsyncedDataSurvivesRestart() {
        m.sh("cd db && mkdir -p x/y && dd if=/dev/urandom of=x/y/f bs=1M count=3 conv=fsync status=none");
        String sum = m.sh("cd db && md5sum x/y/f");
        m.sh("cd db && echo synced > s && sync s");
        m.restart();
        assertEquals(sum, m.sh("cd db && md5sum x/y/f"));
        assertEquals("synced\n", m.sh("cat db/s"));
    }

    @Test
    void snapshotsViewShowsEachEpoch() {
        m.sh("cd db && mkdir d && echo v1 > d/f && ln -s d/f l");
        long e1 = checkpoint();
        m.sh("echo v2 > db/d/f && echo n > db/n");
        long e2 = checkpoint();
        m.sh("echo v3 > db/d/f");
        assertEquals(e1 + "\n" + e2 + "\n", m.sh("ls .snapshots/db"));
        assertEquals("4242\nfiles\nmanifest.json\n", m.sh("ls .snapshots/db/" + e1));
        assertEquals("v1\n", m.sh("cat .snapshots/db/" + e1 + "/files/d/f"));
        assertEquals("v1\n", m.sh("cat .snapshots/db/" + e1 + "/files/l"));
        assertEquals("d\nl\n", m.sh("ls .snapshots/db/" + e1 + "/files"));
        assertEquals("v2\n", m.sh("cat .snapshots/db/" + e2 + "/files/d/f"));
        assertEquals("d\nl\nn\n", m.sh("ls .snapshots/db/" + e2 + "/files"));
        assertEquals("{\"partition\":\"db\",\"epoch\":" + e1 + "}", m.sh("cat .snapshots/db/" + e1 + "/manifest.json"));
        assertEquals("state.json\n", m.sh("ls .snapshots/db/" + e1 + "/4242"));
        assertEquals("{\"pid\":4242}", m.sh("cat .snapshots/db/" + e1 + "/4242/state.json"));
        assertTrue(m.run("echo x > .snapshots/db/" + e1 + "/files/d/f").rc() != 0, "snapshot files are read-only");
        assertTrue(m.run("ls .snapshots/db/999999").rc() != 0);
        assertEquals("v3\n", m.sh("cat db/d/f"));
    }

    @Test
    void snapshotUnderConcurrentAppendsHoldsWholeWrites() throws Exception {
        Process writer = new ProcessBuilder("bash", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); echo $i; done > db/log")
                .directory(m.mnt.toFile()).start();
        try {
            long[] epochs = new long[5];
            for (int k = 0; k < epochs.length; k++) {
                Thread.sleep(150);
                epochs[k] = checkpoint();
            }
            writer.waitFor();
            for (long e : epochs) {
                // bash writes one line per write(2): a snapshot holds lines 1..n, whole, in order
                // (on failure: the first line out of place, what it reads, and how many lines there are)
                String check = m.sh("awk 'NR != $0 && !bad { bad = NR; got = $0 } END { if (bad) printf \"bad: line %d reads [%s] of %d lines\\n\", bad, got, NR; else print \"ok\" }' .snapshots/db/" + e + "/files/log");
                assertEquals("ok\n", check, "epoch " + e);
                m.sh("test \"$(tail -c 1 .snapshots/db/" + e + "/files/log | od -An -c | tr -d ' ')\" = '\\n' || test ! -s .snapshots/db/" + e + "/files/log");
            }
            long last = epochs[epochs.length - 1];
            String lines = m.sh("wc -l < .snapshots/db/" + last + "/files/log").trim();
            m.slfs.rollback("db", last);
            assertEquals(lines, m.sh("wc -l < db/log").trim());
        } finally {
            writer.destroyForcibly();
            writer.waitFor();
        }
    }
}
