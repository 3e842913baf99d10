package org.sls.slsd.linux;

import java.util.Arrays;

/**
 * A sorted list of page-aligned address ranges [start, end), adjacent ranges merged. Used for
 * pagemap scan results and page sets. Not thread-safe.
 */
public final class PageRanges {
    private long[] starts = new long[16];
    private long[] ends = new long[16];
    private int size;

    public void add(long start, long end) {
        if (end <= start) {
            return;
        }
        if (size > 0 && start <= ends[size - 1]) {
            if (start < starts[size - 1]) {
                throw new IllegalArgumentException("ranges must be added in order: " + Long.toHexString(start)
                        + " after " + Long.toHexString(starts[size - 1]));
            }
            // adjacent or overlapping (a scan may report a page again after its buffer filled up)
            ends[size - 1] = Math.max(ends[size - 1], end);
            return;
        }
        if (size == starts.length) {
            starts = Arrays.copyOf(starts, size * 2);
            ends = Arrays.copyOf(ends, size * 2);
        }
        starts[size] = start;
        ends[size] = end;
        size++;
    }

    public int size() { return size; }
    public long start(int i) { return starts[i]; }
    public long end(int i) { return ends[i]; }
    public boolean isEmpty() { return size == 0; }
    public void clear() { size = 0; }

    public long pages() {
        long n = 0;
        for (int i = 0; i < size; i++) {
            n += (ends[i] - starts[i]) >>> 12;
        }
        return n;
    }

    /** This set minus {@code other} (both sorted). */
    public PageRanges minus(PageRanges other) {
        PageRanges out = new PageRanges();
        int j = 0;
        for (int i = 0; i < size; i++) {
            long s = starts[i];
            long e = ends[i];
            while (j < other.size && other.ends[j] <= s) {
                j++;
            }
            int k = j;
            while (s < e && k < other.size && other.starts[k] < e) {
                if (other.starts[k] > s) {
                    out.add(s, other.starts[k]);
                }
                s = Math.max(s, other.ends[k]);
                k++;
            }
            if (s < e) {
                out.add(s, e);
            }
        }
        return out;
    }

    /** Pages in either set. */
    public PageRanges union(PageRanges other) {
        PageRanges out = new PageRanges();
        int i = 0, j = 0;
        while (i < size || j < other.size) {
            if (j >= other.size || (i < size && starts[i] <= other.starts[j])) {
                out.add(starts[i], ends[i]);
                i++;
            } else {
                out.add(other.starts[j], other.ends[j]);
                j++;
            }
        }
        return out;
    }

    /** Pages in both sets. */
    public PageRanges intersect(PageRanges other) {
        return minus(minus(other));
    }

    /** The part of this set inside [lo, hi). */
    public PageRanges clip(long lo, long hi) {
        PageRanges out = new PageRanges();
        for (int i = 0; i < size; i++) {
            long s = Math.max(lo, starts[i]);
            long e = Math.min(hi, ends[i]);
            if (s < e) {
                out.add(s, e);
            }
        }
        return out;
    }

    public boolean contains(long page) {
        int lo = 0, hi = size - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (ends[mid] <= page) lo = mid + 1;
            else if (starts[mid] > page) hi = mid - 1;
            else return true;
        }
        return false;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < size && i < 8; i++) {
            sb.append(i > 0 ? ", " : "").append(Long.toHexString(starts[i])).append('-').append(Long.toHexString(ends[i]));
        }
        return sb.append(size > 8 ? ", ...]" : "]").toString();
    }
}
