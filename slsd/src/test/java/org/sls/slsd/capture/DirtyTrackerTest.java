package org.sls.slsd.capture;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.PageRanges;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.SyscallInjector;
import org.sls.slsd.linux.TestPrograms;
import org.sls.slsd.linux.Vma;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The userfaultfd tracker on a real process: exactly the written pages, then nothing; untracked VMAs unknown. */
class DirtyTrackerTest {
    @TempDir
    Path tmp;

    @Test
    void uffdTrackerReportsExactlyTheWrittenPages() throws Exception {
        writtenPages(-1);
    }

    @Test
    void uffdTrackerWorksForNonRootTargetsAndKernelWrites() throws Exception {
        java.nio.file.Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        writtenPages(65534);
    }

    private void writtenPages(int uid) throws Exception {
        try (TestPrograms programs = new TestPrograms(tmp); UffdDirtyTracker tracker = new UffdDirtyTracker()) {
            Path out = tmp.resolve("pager.out");
            java.nio.file.Files.createFile(out);
            java.nio.file.Files.setPosixFilePermissions(out, java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw-rw-"));
            int pid = programs.start("pager", List.of(out.toString()), uid);
            long addr = Long.parseUnsignedLong(TestPrograms.awaitLine(out, l -> l.startsWith("addr="), Duration.ofSeconds(10))
                    .substring(7), 16);
            Vma vma;
            try (FrozenTree t = Freezer.freeze(List.of(pid), false, new java.util.HashSet<>())) {
                List<Vma> vmas = ProcFs.maps(pid);
                vma = vmas.stream().filter(v -> v.start() <= addr && addr < v.end()).findFirst().orElseThrow();
                assertTrue(tracker.needsPreparation(pid));
                try (SyscallInjector inj = SyscallInjector.begin(pid, pid, SyscallInjector.findGadget(pid, vmas))) {
                    tracker.prepare(pid, inj);
                }
                assertFalse(tracker.needsPreparation(pid));
                assertNull(tracker.written(pid, vma), "not tracked yet");
                assertTrue(tracker.track(pid, vma));
                assertEquals(0, tracker.written(pid, vma).pages(), "nothing written since");
            }
            for (int fd : ProcFs.fds(pid)) {
                assertFalse(ProcFs.link(pid, "fd/" + fd).orElse("").contains("userfaultfd"), "no fd left in the target");
            }
            assertTrue(ProcFs.smaps(pid).stream().anyMatch(v -> v.start() == vma.start() && v.has("uw")));
            for (int round = 1; round <= 2; round++) {
                Linux.kill(pid, 10);
                int r = round;
                TestPrograms.awaitLine(out, ("wrote " + r)::equals, Duration.ofSeconds(10));
                try (FrozenTree t = Freezer.freeze(List.of(pid), false, new java.util.HashSet<>())) {
                    PageRanges w = tracker.written(pid, vma);
                    PageRanges expected = new PageRanges();
                    expected.add(addr + 3 * 4096, addr + 4 * 4096);
                    expected.add(addr + 10 * 4096, addr + 12 * 4096);
                    expected.add(addr + 20 * 4096, addr + 21 * 4096);
                    assertEquals(expected.toString(), w.clip(addr, addr + 64 * 4096).toString());
                    assertEquals(0, tracker.written(pid, vma).pages(), "protected again by the scan");
                }
            }
            tracker.forget(pid);
            assertNull(tracker.written(pid, vma));
        }
    }

    @Test
    void hotRunsAreShorterForBigRegions() {
        assertEquals(UffdDirtyTracker.HOT_RUN_MAX, UffdDirtyTracker.hotRun(128));
        assertEquals(8, UffdDirtyTracker.hotRun(8192), "32 MiB: 256 MiB copied over the run");
        assertEquals(1, UffdDirtyTracker.hotRun(1 << 20), "4 GiB: measured every other checkpoint");
        assertThrows(IllegalArgumentException.class, () -> new UffdDirtyTracker(0));
    }

    @Test
    void fullTrackerKnowsNothing() {
        try (FullDirtyTracker f = new FullDirtyTracker()) {
            Vma v = new Vma(0x1000, 0x3000, "rw-p", 0, 0, 0, 0, "", java.util.Set.of());
            assertNull(f.written(1, v));
            assertNull(f.dirty(1, v));
            assertFalse(f.track(1, v));
            assertEquals("full", f.name());
        }
    }
}
