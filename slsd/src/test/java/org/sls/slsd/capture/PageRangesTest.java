package org.sls.slsd.capture;

import org.junit.jupiter.api.Test;
import org.sls.slsd.linux.PageRanges;

import static org.junit.jupiter.api.Assertions.*;

class PageRangesTest {
    private static PageRanges of(long... se) {
        PageRanges r = new PageRanges();
        for (int i = 0; i < se.length; i += 2) {
            r.add(se[i] * 4096, se[i + 1] * 4096);
        }
        return r;
    }

    @Test
    void minusUnionIntersect() {
        PageRanges a = of(0, 10, 20, 30);
        PageRanges b = of(5, 25);
        assertEquals(of(0, 5, 25, 30).toString(), a.minus(b).toString());
        assertEquals(of(5, 10, 20, 25).toString(), a.intersect(b).toString());
        assertEquals(of(0, 30).toString(), a.union(b).toString());
        assertEquals(20, a.pages());
        assertTrue(a.contains(9 * 4096));
        assertFalse(a.contains(10 * 4096));
        assertEquals(of(2, 8).toString(), a.clip(2 * 4096, 8 * 4096).toString());
    }

    @Test
    void adjacentAndRepeatedRangesMerge() {
        PageRanges r = of(0, 2, 2, 4, 3, 5);
        assertEquals(1, r.size());
        assertEquals(5, r.pages());
        PageRanges later = of(10, 12);
        assertThrows(IllegalArgumentException.class, () -> later.add(0, 4096), "out of order");
    }
}
