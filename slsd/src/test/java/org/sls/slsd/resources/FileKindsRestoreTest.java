package org.sls.slsd.resources;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.slos.FormatOptions;
import org.sls.slos.PartitionRecord;
import org.sls.slos.Slos;
import org.sls.slsd.checkpoint.CheckpointEngine;
import org.sls.slsd.checkpoint.CheckpointResult;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.checkpoint.manifest.Manifest;
import org.sls.slsd.checkpoint.manifest.ManifestCodec;
import org.sls.slsd.checkpoint.manifest.SharedMemoryImage;
import org.sls.slsd.linux.KernelFeatures;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.TestPrograms;
import org.sls.slsd.restore.RestoreEngine;
import org.sls.slsd.restore.RestoreResult;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The fd kinds whose content the checkpoint keeps (deleted files, memfd, POSIX shm) and the
 * mappings of such files, through checkpoint, SIGKILL and restore with the real engines on a real
 * store: a C workload sets them up, waits for OUT.go after restore and reports what it finds.
 * Every process started or restored is killed by pid at the end.
 */
class FileKindsRestoreTest {
    private static final KernelFeatures FEATURES = KernelFeatures.probe();
    private static final String PART = "f";
    @TempDir
    Path tmp;
    Slos store;
    TestPrograms programs;
    CheckpointEngine checkpoints;
    RestoreEngine restores;
    Path shm;

    @BeforeEach
    void setUp() throws Exception {
        Files.createDirectories(tmp.resolve("resources"));
        Path img = tmp.resolve("store.img");
        Slos.format(img, FormatOptions.defaults().withSize(128L << 20));
        store = Slos.open(img, null);
        programs = new TestPrograms(tmp);
        checkpoints = new CheckpointEngine(store, FEATURES, programs.reaper());
        restores = new RestoreEngine(store, FEATURES, programs.reaper());
        store.createPartition(new PartitionRecord(PART, PartitionRecord.BACKEND_SLOS, "delta", 0, 0,
                System.currentTimeMillis()));
        shm = Path.of("/dev/shm/sls-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    }

    @AfterEach
    void tearDown() throws Exception {
        restores.close();
        checkpoints.close();
        programs.close();
        store.close();
        Files.deleteIfExists(shm);
    }

    static String await(Path out, String prefix) throws Exception {
        return TestPrograms.awaitLine(out, l -> l.startsWith(prefix), Duration.ofSeconds(20));
    }

    static void killAndWaitGone(List<Integer> pids) throws InterruptedException {
        for (int p : pids) {
            Linux.killIfAlive(p, 9);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        for (int p : pids) {
            while (ProcFs.exists(p)) {
                assertTrue(System.nanoTime() < deadline, "pid " + p + " still exists 20 s after SIGKILL");
                Thread.sleep(20);
            }
        }
    }

    private Manifest manifest(long epoch) {
        return ManifestCodec.decode(store.readBlob(PART, epoch, Manifest.BLOB));
    }

    @Test
    void deletedFilesMemfdAndShmComeBackWithTheirContent() throws Exception {
        Path out = tmp.resolve("files.out");
        Path dir = Files.createDirectories(tmp.resolve("data"));
        int pid = programs.start("resources/files", List.of(out.toString(), dir.toString(),
                "/" + shm.getFileName()), -1);
        checkpoints.attach(PART, pid, 0);
        int child = Integer.parseInt(ResourcesRestoreTest.RestoreFixtureLike.field(await(out, "ready"), "child"));
        CheckpointResult first = checkpoints.checkpoint(PART, true, "delta", 0);
        CheckpointResult cp = checkpoints.checkpoint(PART, true, "delta", first.epoch());
        Manifest m = manifest(cp.epoch());
        List<FdImage> fds = m.process(pid).fds();
        FdImage memfd = fds.stream().filter(f -> f.kind() == FdImage.Kind.MEMFD).findFirst().orElseThrow();
        FdImage childMemfd = m.process(child).fds().stream().filter(f -> f.kind() == FdImage.Kind.MEMFD)
                .findFirst().orElseThrow();
        assertEquals(memfd.identity(), childMemfd.identity(), "the forked memfd is one open file");
        assertEquals(1, fds.stream().filter(f -> f.kind() == FdImage.Kind.DELETED_FILE).count(), fds.toString());
        assertEquals(1, fds.stream().filter(f -> f.kind() == FdImage.Kind.POSIX_SHM).count(), fds.toString());
        // one saved file per inode: the deleted file (fd and mapping), the private one, the memfd, the shm object
        List<SharedMemoryImage> files = m.sharedMemory();
        assertEquals(4, files.size(), files.toString());
        assertTrue(files.stream().anyMatch(s -> s.path().equals("/memfd:sls-memfd (deleted)") && s.seals() == 6
                && s.size() == 3 * 4096), files.toString());
        assertTrue(files.stream().anyMatch(s -> s.path().equals(dir.resolve("del") + " (deleted)")
                && s.size() == 1024 * 4096 + 100 && s.mode() == 0640), files.toString());
        assertTrue(first.pages() > 1024, "the first checkpoint saves the deleted file: " + first.pages() + " pages");
        assertTrue(cp.pages() < 512, "a delta writes only the pages that changed, not the 4 MiB file again: "
                + cp.pages() + " pages");

        killAndWaitGone(List.of(child, pid));
        Files.delete(shm); // as after a reboot: the object is recreated from the checkpoint
        RestoreResult r = restores.restore(PART, cp.epoch(), false, false, 0);
        r.pids().forEach(programs::track);
        assertEquals(List.of(pid, child), r.pids());
        Files.createFile(Path.of(out + ".go"));
        assertEquals("deleted offset=5000 size=4194404 nlink=0 mode=640 content=1 map=1 shared=1 link="
                + dir.resolve("del") + " (deleted)", await(out, "deleted"));
        assertEquals("private file=1 own=1", await(out, "private"), Files.readString(out));
        assertEquals("memfd offset=123 size=12288 seals=6 content=1 map=1 link=/memfd:sls-memfd (deleted)",
                await(out, "memfd offset"));
        assertEquals("child marked=1 offset=123", await(out, "child"));
        assertEquals("memfd shared=1", await(out, "memfd shared"));
        assertEquals("shm content=1 map=1 shared=1", await(out, "shm"));
        assertTrue(Files.exists(shm), "the shm object is back at its name");
        assertFalse(Files.exists(dir.resolve("del")), "the deleted file stays deleted");
    }

    @Test
    void fileLocksAreTakenAgainAndAConflictRefusesTheRestore() throws Exception {
        Path out = tmp.resolve("locks.out");
        Path dir = Files.createDirectories(tmp.resolve("locks"));
        int pid = programs.start("resources/locks", List.of(out.toString(), dir.toString()), -1);
        checkpoints.attach(PART, pid, 0);
        await(out, "ready");
        String held = "flock=busy posix=write/owner free=1 ofd=read";
        assertEquals("before " + held, await(out, "before"));
        CheckpointResult cp = checkpoints.checkpoint(PART, true, "full", 0);
        List<FdImage> fds = manifest(cp.epoch()).process(pid).fds();
        assertEquals(List.of("FLOCK:WRITE:0:EOF", "POSIX:WRITE:0:99", "OFDLCK:READ:200:299"),
                fds.stream().map(f -> f.detail(FileLocks.LOCKS, "")).filter(l -> !l.isEmpty()).toList());
        List<Integer> tree = manifest(cp.epoch()).processes().stream().map(x -> x.pid()).toList();
        assertEquals(2, tree.size(), "the process and its child that shares the flock'ed file");
        killAndWaitGone(tree);

        // someone else takes the POSIX lock meanwhile: the restore is refused, naming it, and leaves nothing
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(dir.resolve("b"),
                java.nio.file.StandardOpenOption.WRITE);
             java.nio.channels.FileLock l = ch.tryLock(50, 10, false)) {
            assertNotNull(l);
            org.sls.slsd.restore.RestoreException e = assertThrows(org.sls.slsd.restore.RestoreException.class,
                    () -> restores.restore(PART, cp.epoch(), false, false, 0));
            assertTrue(e.getMessage().contains("fd 4 (" + dir.resolve("b") + "): posix write lock 0-99: cannot be taken again"),
                    e.getMessage());
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            for (int p : tree) { // nothing left of the failed restore: its husks end (a zombie may linger a moment)
                while (ProcFs.exists(p)) {
                    assertTrue(System.nanoTime() < deadline, "pid " + p + " of the failed restore still exists");
                    Thread.sleep(20);
                }
            }
        }
        RestoreResult r = restores.restore(PART, cp.epoch(), false, false, 0);
        r.pids().forEach(programs::track);
        Files.createFile(Path.of(out + ".go"));
        assertEquals("after " + held, await(out, "after"));
        // the child released the flock through its fd: the open file it shares with its parent again
        assertEquals("dropped flock=free posix=none/other free=1 ofd=read", await(out, "dropped"));
    }

    @Test
    void inotifyWatchesKeepTheirNumbersAndEventsStillArrive() throws Exception {
        Path out = tmp.resolve("inotify.out");
        Path dir = Files.createDirectories(tmp.resolve("watched"));
        int pid = programs.start("resources/inotify", List.of(out.toString(), dir.toString()), -1);
        checkpoints.attach(PART, pid, 0);
        await(out, "ready");
        CheckpointResult cp = checkpoints.checkpoint(PART, false, "full", 0);
        FdImage in = manifest(cp.epoch()).process(pid).fds().stream().filter(f -> f.kind() == FdImage.Kind.INOTIFY)
                .findFirst().orElseThrow();
        assertEquals(List.of(1, 3), java.util.Arrays.stream(in.detail("watches", "").split(";"))
                .map(w -> InotifyKind.Watch.decode(w).wd()).toList(), in.toString());
        killAndWaitGone(List.of(pid));
        // the watched file moves meanwhile: the watch follows its inode
        Files.move(dir.resolve("f"), dir.resolve("f2"));
        RestoreResult r = restores.restore(PART, cp.epoch(), false, false, 0);
        r.pids().forEach(programs::track);
        Files.move(dir.resolve("f2"), dir.resolve("f"));
        Files.createFile(Path.of(out + ".go"));
        assertEquals("events wd_dir=1 wd_file=3 create=1:new modify=3", await(out, "events"));
    }

    @Test
    void inotifyWithUnreadEventsIsRefusedAndKeepsRunning() throws Exception {
        Path out = tmp.resolve("inotify.out");
        Path dir = Files.createDirectories(tmp.resolve("watched"));
        int pid = programs.start("resources/inotify", List.of(out.toString(), dir.toString()), -1);
        checkpoints.attach(PART, pid, 0);
        await(out, "ready");
        Files.createFile(dir.resolve("early")); // an event the process has not read yet
        org.sls.slsd.checkpoint.CheckpointException e = assertThrows(org.sls.slsd.checkpoint.CheckpointException.class,
                () -> checkpoints.checkpoint(PART, false, "full", 0));
        assertTrue(e.getMessage().startsWith("pid " + pid + " fd 3 (anon_inode:inotify): "), e.getMessage());
        assertTrue(e.getMessage().contains("bytes of unread inotify events"), e.getMessage());
        Files.createFile(Path.of(out + ".go"));
        assertEquals("events wd_dir=1 wd_file=3 create=1:early modify=3", await(out, "events"));
    }

    @Test
    void sysvSegmentsComeBackUnderTheirIdsKeysAndAddresses() throws Exception {
        Path out = tmp.resolve("sysv.out");
        int key = 0x51500000 + (int) (System.nanoTime() & 0xfffff);
        int pid = programs.start("resources/sysv", List.of(out.toString(), Integer.toString(key)), -1);
        String ready = await(out, "ready");
        int id = Integer.parseInt(ResourcesRestoreTest.RestoreFixtureLike.field(ready, "id"));
        try {
            checkpoints.attach(PART, pid, 0);
            CheckpointResult cp = checkpoints.checkpoint(PART, true, "full", 0);
            List<SharedMemoryImage> segs = manifest(cp.epoch()).sharedMemory().stream().filter(s -> s.sysv() != null).toList();
            assertEquals(2, segs.size(), segs.toString());
            assertTrue(segs.stream().anyMatch(s -> s.sysv().key() == key && s.sysv().id() == id && !s.sysv().removed()
                    && s.size() == 3 * 4096 && s.mode() == 0640), segs.toString());
            assertTrue(segs.stream().anyMatch(s -> s.sysv().removed() && s.size() == 4096), segs.toString());
            String maps = Files.readString(Path.of("/proc/" + pid + "/maps"));
            List<Integer> pids = manifest(cp.epoch()).processes().stream().map(p -> p.pid()).toList();
            killAndWaitGone(pids);
            // as after a reboot: the segment is gone and is made again from the checkpoint
            assertEquals(0, new ProcessBuilder("ipcrm", "-m", Integer.toString(id)).start().waitFor());
            RestoreResult r = restores.restore(PART, cp.epoch(), false, false, 0);
            r.pids().forEach(programs::track);
            assertEquals(maps.lines().filter(l -> l.contains("/SYSV")).toList(),
                    Files.readString(Path.of("/proc/" + pid + "/maps")).lines().filter(l -> l.contains("/SYSV")).toList(),
                    "attached at the same addresses, same ids and keys");
            Files.createFile(Path.of(out + ".go"));
            String expected = "sysv key=" + key + " size=12288 mode=640 content=1 shared=1 ro=1 removed=1";
            assertEquals(expected, await(out, "sysv"));

            // without a reboot the segment outlives its processes: restore attaches the live one
            killAndWaitGone(pids);
            Files.delete(Path.of(out + ".go"));
            RestoreResult again = restores.restore(PART, cp.epoch(), false, false, 0);
            again.pids().forEach(programs::track);
            Files.createFile(Path.of(out + ".go"));
            TestPrograms.awaitLine(out, l -> {
                try {
                    return Files.readAllLines(out).stream().filter(x -> x.startsWith("sysv")).count() >= 2;
                } catch (java.io.IOException e) {
                    return false;
                }
            }, Duration.ofSeconds(20));
            assertEquals(List.of(expected, expected),
                    Files.readAllLines(out).stream().filter(x -> x.startsWith("sysv")).toList());
        } finally {
            new ProcessBuilder("ipcrm", "-m", Integer.toString(id)).start().waitFor();
        }
    }

    @Test
    void aPidfdOnAChildStillSignalsAndWaitsForIt() throws Exception {
        Path out = tmp.resolve("pidfd.out");
        int pid = programs.start("resources/pidfd", List.of(out.toString()), -1);
        int child = Integer.parseInt(ResourcesRestoreTest.RestoreFixtureLike.field(await(out, "ready"), "child"));
        checkpoints.attach(PART, pid, 0);
        CheckpointResult cp = checkpoints.checkpoint(PART, true, "full", 0);
        FdImage pidfd = manifest(cp.epoch()).process(pid).fds().stream().filter(f -> f.kind() == FdImage.Kind.PIDFD)
                .findFirst().orElseThrow();
        assertEquals(Integer.toString(child), pidfd.detail("pid", ""));
        killAndWaitGone(List.of(child, pid));
        RestoreResult r = restores.restore(PART, cp.epoch(), false, false, 0);
        r.pids().forEach(programs::track);
        Files.createFile(Path.of(out + ".go"));
        assertEquals("pidfd sent=1 waited=1 signal=15 nonblock=1", await(out, "pidfd"));
    }
}
