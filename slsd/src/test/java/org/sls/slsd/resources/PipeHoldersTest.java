package org.sls.slsd.resources;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A checkpoint that took a pipe's outside holders from the scan made after the previous thaw is
 * committed only if the scan made after its own thaw confirms them: whether there were any is
 * what decides what is saved.
 */
class PipeHoldersTest {
    private static final String PIPE = "pipe:[4242]";

    /** The partition is pid 10; the earlier scan saw {@code before}; returns whether {@code now} confirms it. */
    private static boolean confirmed(Set<Integer> before, Set<Integer> now) {
        CaptureContext ctx = new CaptureContext(List.of(10), false);
        ctx.holdersFromEarlierScan(Map.of(PIPE, before));
        ctx.outsideHolders(PIPE);
        assertTrue(ctx.usedEarlierScan());
        return ctx.holdersStillValid(Map.of(PIPE, now));
    }

    @Test
    void anOutsideHolderThatStaysConfirmsWhateverComesAndGoesBesideIt() {
        // the JVM or shell (20) holds the write end throughout; children (30, 31) inherit it for a moment
        assertTrue(confirmed(Set.of(10, 20), Set.of(10, 20, 30)));
        assertTrue(confirmed(Set.of(10, 20, 30), Set.of(10, 20, 31)));
        assertTrue(confirmed(Set.of(10, 20, 30), Set.of(10, 20)));
    }

    @Test
    void holdersThatAllChangedOrAppearedOrVanishedDoNot() {
        assertFalse(confirmed(Set.of(10, 30), Set.of(10, 31)), "no outside holder at both scans");
        assertFalse(confirmed(Set.of(10), Set.of(10, 30)), "one appeared: it may have held it while frozen");
        assertFalse(confirmed(Set.of(10, 30), Set.of(10)), "the only one is gone: maybe before the freeze");
        assertTrue(confirmed(Set.of(10), Set.of(10)), "none outside at either scan");
    }

    @Test
    void holdersScannedWhileFrozenNeedNoConfirmation() {
        CaptureContext ctx = new CaptureContext(List.of(10), false);
        assertEquals(Set.of(), ctx.outsideHolders("pipe:[no-such-pipe]"));
        assertFalse(ctx.usedEarlierScan());
        assertTrue(ctx.holdersStillValid(Map.of()));
    }
}
