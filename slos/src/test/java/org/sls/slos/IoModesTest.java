package org.sls.slos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IoModesTest {
    @TempDir
    Path dir;

    @Test
    void pmemModeMapsTheImageAndSurvivesReopen() {
        Path img = dir.resolve("pm.img");
        Slos.format(img, FormatOptions.defaults().withSize(16L << 20).withSegmentSize(1 << 20).withMode(FormatOptions.Mode.PMEM));
        Pages.Model m = new Pages.Model();
        long e;
        long o;
        try (Slos s = Slos.open(img, null, OpenOptions.defaults().withBackgroundCleaner(false))) {
            assertTrue(s.ioDescription().startsWith("mapped file"), s.ioDescription());
            s.createPartition(new PartitionRecord("p", "slos", "full", 0, 0, 0));
            o = s.newObjectId();
            try (EpochWriter w = s.beginEpoch("p", 0)) {
                for (long p = 0; p < 700; p++) {
                    w.writePage(o, p, Pages.page(p));
                    m.write(o, p, p);
                }
                e = w.commit().epoch();
            }
            Pages.verify(s.reader("p", e), m);
        }
        try (Slos s = Slos.open(img, null, OpenOptions.defaults().withBackgroundCleaner(false))) {
            Pages.verify(s.reader("p", e), m);
            assertTrue(s.fsck(false).clean());
        }
    }

    @Test
    void blockModeUsesFileIo() {
        Path img = dir.resolve("b.img");
        Slos.format(img, FormatOptions.defaults().withSize(16L << 20).withMode(FormatOptions.Mode.BLOCK));
        try (Slos s = Slos.open(img, null)) {
            assertTrue(s.ioDescription().startsWith("file "), s.ioDescription());
        }
    }

    @Test
    void cleanerPolicyRunsWhenFreeSpaceIsLowAndNotTooOften() {
        Clock t0 = Clock.fixed(Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC);
        CleanerPolicy p = new CleanerPolicy(0.25, Duration.ofSeconds(10));
        StoreUsage plenty = new StoreUsage(100, 10, 90, 10, 9, 10, 0);
        StoreUsage tight = new StoreUsage(100, 90, 10, 10, 1, 10, 0);
        assertFalse(p.shouldRun(plenty, t0.instant(), null));
        assertTrue(p.shouldRun(tight, t0.instant(), null));
        Clock later = Clock.offset(t0, Duration.ofSeconds(5));
        assertFalse(p.shouldRun(tight, later.instant(), t0.instant()));
        assertTrue(p.shouldRun(tight, Clock.offset(t0, Duration.ofSeconds(11)).instant(), t0.instant()));
        assertEquals(0.25, p.lowFreeFraction());
    }
}
