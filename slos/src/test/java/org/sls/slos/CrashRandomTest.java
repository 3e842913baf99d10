package org.sls.slos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.util.Environment;

/**
 * Random crash safety: a child JVM ({@link CrashChild}) writes, deletes and cleans epochs on an
 * image file and is killed with SIGKILL at a random moment; the store is reopened, fsck must be
 * clean, and every epoch the child logged as committed (and not being deleted) must be there
 * with exactly the content its model says. {@code -Dslos.crash.iterations=N} runs more rounds.
 */
class CrashRandomTest {
    @TempDir
    Path dir;

    @Test
    void killedWriterLeavesEveryCommittedEpochIntact() throws Exception {
        int rounds = Integer.getInteger("slos.crash.iterations", 24);
        long seed = Long.getLong("slos.crash.seed", System.nanoTime());
        Random rnd = new Random(seed);
        Path img = dir.resolve("crash.img");
        Path log = dir.resolve("child.log");
        Slos.format(img, FormatOptions.defaults().withSize(48L << 20).withSegmentSize(256 << 10));
        String java = ProcessHandle.current().info().command().orElse("java");
        Map<Long, String> begun = new HashMap<>();
        Set<Long> committed = new HashSet<>();
        Set<Long> deleting = new HashSet<>();
        Set<Long> deleted = new HashSet<>();
        int killedAfterCommits = 0;
        // The children load RocksDB's library from here, as the distribution's launchers have it
        // (else each copies it into java.io.tmpdir, and a killed child leaves its 17 MB copy there)
        Path nativeDir = Files.createDirectories(dir.resolve("native"));
        try (InputStream lib = org.rocksdb.RocksDB.class.getResourceAsStream("/" + Environment.getJniLibraryFileName("rocksdb"))) {
            if (lib != null) {
                Files.copy(lib, nativeDir.resolve(Environment.getJniLibraryFileName("rocksdbjni")));
            }
        }
        for (int round = 0; round < rounds; round++) {
            List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
                    "-D" + MetaStore.NATIVE_DIR_PROPERTY + "=" + nativeDir, "-Djava.io.tmpdir=" + dir,
                    "-Dlogback.configurationFile=none", "-cp", System.getProperty("java.class.path"),
                    CrashChild.class.getName(), img.toString(), Long.toString(seed + round), log.toString()));
            Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("child.out").toFile()).start();
            // Three rounds in four wait for the child's next commit and kill it at a random moment
            // after that (mid-write, mid-delete, mid-clean) however slow the machine is; the fourth
            // kills it at a random moment from its start (often while it opens and recovers the store).
            boolean waited = round % 4 != 3;
            if (waited) {
                awaitCommit(log, commitsLogged(log) + 1, child, seed);
            }
            long delay = waited ? rnd.nextInt(1600) : 200 + rnd.nextInt(1800);
            boolean exited = child.waitFor(delay, TimeUnit.MILLISECONDS);
            if (exited) {
                throw new AssertionError("child exited by itself (code " + child.exitValue() + "): "
                        + Files.readString(dir.resolve("child.out")) + " seed " + seed);
            }
            ProcessHandle.of(child.pid()).ifPresent(ProcessHandle::destroyForcibly);
            child.waitFor();
            for (String line : Files.readAllLines(log)) {
                String[] f = line.split(" ");
                if (f.length < 2) {
                    continue; // the kill can cut the last line
                }
                long e = Long.parseLong(f[1]);
                switch (f[0]) {
                    case "BEGIN" -> {
                        if (f.length == 3) {
                            begun.put(e, f[2]);
                        }
                    }
                    case "COMMIT" -> committed.add(e);
                    case "DELETING" -> deleting.add(e);
                    case "DELETED" -> deleted.add(e);
                    default -> { }
                }
            }
            killedAfterCommits += committed.isEmpty() ? 0 : 1;
            try (Slos s = Slos.open(img, null, OpenOptions.defaults().withBackgroundCleaner(false))) {
                FsckReport r = s.fsck(false);
                assertTrue(r.clean(), "round " + round + " seed " + seed + ": fsck " + r.problems());
                Set<Long> present = new HashSet<>();
                if (s.partition(CrashChild.PARTITION).isPresent()) {
                    for (EpochInfo ei : s.epochs(CrashChild.PARTITION)) {
                        present.add(ei.epoch());
                        String digest = begun.get(ei.epoch());
                        assertTrue(digest != null, "round " + round + ": epoch " + ei.epoch() + " exists but was never begun");
                        assertTrue(!deleted.contains(ei.epoch()), "round " + round + ": deleted epoch " + ei.epoch() + " is back");
                        Pages.Model m = CrashChild.decode(s.readBlob(CrashChild.PARTITION, ei.epoch(), "model"));
                        assertEquals(digest, CrashChild.digest(m), "round " + round + ": model of epoch " + ei.epoch());
                        Pages.verify(s.reader(CrashChild.PARTITION, ei.epoch()), m, CrashChild.OBJECTS);
                    }
                }
                for (long e : committed) {
                    if (!deleting.contains(e)) {
                        assertTrue(present.contains(e), "round " + round + " seed " + seed + ": committed epoch " + e + " is missing");
                    }
                }
            }
        }
        assertTrue(committed.size() >= waitedRounds(rounds), "the child committed " + committed.size() + " epochs in " + rounds + " rounds");
        assertTrue(killedAfterCommits > 0);
    }

    private static int waitedRounds(int rounds) {
        int n = 0;
        for (int round = 0; round < rounds; round++) {
            n += round % 4 != 3 ? 1 : 0;
        }
        return n;
    }

    private static long commitsLogged(Path log) throws java.io.IOException {
        return Files.exists(log) ? Files.readAllLines(log).stream().filter(l -> l.startsWith("COMMIT ")).count() : 0;
    }

    /** Waits (up to two minutes, so a loaded machine is not a failure) until the log holds {@code n} commits. */
    private static void awaitCommit(Path log, long n, Process child, long seed) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (commitsLogged(log) < n) {
            if (!child.isAlive()) {
                return; // reported by the caller's exit check
            }
            if (System.nanoTime() > deadline) {
                child.destroyForcibly();
                throw new AssertionError("the child did not commit within two minutes, seed " + seed);
            }
            Thread.sleep(10);
        }
    }
}
