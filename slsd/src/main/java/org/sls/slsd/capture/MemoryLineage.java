package org.sls.slsd.capture;

import org.sls.slsd.linux.PageRanges;

import java.util.HashMap;
import java.util.Map;

/**
 * What the store holds for a partition as of one epoch, so that the next checkpoint can build on
 * it: per process, per VMA start, the region's object and the pages present in it; per shared
 * memory identity its object. A region keeps its object while its VMA keeps the same range and
 * backing; anything else gets a new object. Not thread-safe; replaced wholesale after each commit.
 */
public final class MemoryLineage {
    /** One region's lineage. {@code present} must not be mutated once stored. */
    public record Region(long start, long end, String key, long objectId, long objectBase, PageRanges present,
                         boolean tracked) {}

    final long epoch;
    final Map<Integer, Map<Long, Region>> regions = new HashMap<>();
    final Map<String, Long> shared = new HashMap<>();
    /** Per shared identity, a 64-bit hash of each page as saved: a delta writes only the pages that changed. */
    final Map<String, long[]> sharedHashes = new HashMap<>();
    final Map<Integer, String> stamps = new HashMap<>();

    public MemoryLineage(long epoch) {
        this.epoch = epoch;
    }

    /** The epoch this lineage describes (0 for none). */
    public long epoch() { return epoch; }

    public static MemoryLineage empty() { return new MemoryLineage(0); }

    Region region(int pid, long start) {
        Map<Long, Region> m = regions.get(pid);
        return m == null ? null : m.get(start);
    }

    void put(int pid, Region r) {
        regions.computeIfAbsent(pid, p -> new HashMap<>()).put(r.start(), r);
    }

    /** Every object id referenced, for finding the ones a new epoch dropped. */
    java.util.Set<Long> objects() {
        java.util.Set<Long> s = new java.util.HashSet<>(shared.values());
        regions.values().forEach(m -> m.values().forEach(r -> s.add(r.objectId())));
        return s;
    }

    /** The same lineage stamped with the epoch it now describes. */
    public MemoryLineage withEpoch(long e) {
        MemoryLineage l = new MemoryLineage(e);
        l.regions.putAll(regions);
        l.shared.putAll(shared);
        l.sharedHashes.putAll(sharedHashes);
        l.stamps.putAll(stamps);
        return l;
    }

    /** This lineage without one process (after an exec its old regions mean nothing). */
    public MemoryLineage without(int pid) {
        MemoryLineage l = withEpoch(epoch);
        l.regions.remove(pid);
        return l;
    }

    /** What identifies a process's address space across checkpoints (changes with exec). */
    public String stamp(int pid) { return stamps.get(pid); }

    public void stamp(int pid, String stamp) { stamps.put(pid, stamp); }

    /** Processes with regions in this lineage. */
    public java.util.List<Integer> pids() {
        return new java.util.ArrayList<>(regions.keySet());
    }
}
