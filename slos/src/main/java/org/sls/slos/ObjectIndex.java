package org.sls.slos;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where each page of one object is, as of one epoch: non-overlapping runs, sorted by first
 * page, each either data (block address, CRCs, the layer holding it) or a hole. Built from the
 * object's 'O' and 'L' records by {@link #build}: among the layers of the epoch's ancestry
 * (see {@link Keys}), newer (greater) layers shadow older ones, and a delete or truncate in layer
 * t hides older versions at pages {@code >= hideFrom}. Immutable; thread-safe.
 */
final class ObjectIndex {
    /** One resolved run. */
    record Run(long start, int count, byte kind, long block, int[] crcs, int crcOffset, long layer) {}

    final boolean exists;
    final Run[] runs;
    private final long[] starts;

    private ObjectIndex(boolean exists, Run[] runs) {
        this.exists = exists;
        this.runs = runs;
        this.starts = new long[runs.length];
        for (int i = 0; i < runs.length; i++) {
            starts[i] = runs[i].start;
        }
    }

    /** Index of the run containing {@code page}, or {@code -(insertion point) - 1} when none does. */
    int find(long page) {
        int i = Arrays.binarySearch(starts, page);
        if (i >= 0) {
            return i;
        }
        int before = -i - 2;
        if (before >= 0 && page < runs[before].start + runs[before].count) {
            return before;
        }
        return i;
    }

    private record Candidate(long start, long end, long epoch, Records.Extent ext, long extStart) {}

    private record ObjRec(long epoch, Records.ObjectState state) {}

    /** The object as seen through {@code layers}: the layers of an ancestry, sorted descending. */
    static ObjectIndex build(MetaStore meta, long objectId, long[] layers) {
        List<ObjRec> recs = new ArrayList<>();
        meta.scan(Keys.objectPrefix(objectId), (k, v) -> {
            long e = Keys.long2(k);
            if (EpochTable.contains(layers, e)) {
                recs.add(new ObjRec(e, Records.ObjectState.decode(v)));
            }
            return true;
        });
        if (recs.isEmpty()) {
            return new ObjectIndex(false, new Run[0]);
        }
        recs.sort(Comparator.comparingLong(ObjRec::epoch).reversed());
        // minHide[i] = smallest hideFrom among records newer than recs[i]'s epoch... computed as a
        // running minimum from the newest down: thresholdAbove(v) = min hideFrom of records with epoch > v.
        long[] recEpochs = new long[recs.size()];
        long[] runningMin = new long[recs.size()];
        long m = Long.MAX_VALUE;
        for (int i = 0; i < recs.size(); i++) {
            recEpochs[i] = recs.get(i).epoch;
            m = Math.min(m, recs.get(i).state.hideFrom());
            runningMin[i] = m;
        }
        boolean exists = recs.get(0).state.exists();
        List<Candidate> cands = new ArrayList<>();
        meta.scan(Keys.extentPrefix(objectId), (k, v) -> {
            long e = Keys.extentLayer(k);
            if (!EpochTable.contains(layers, e)) {
                return true;
            }
            long start = Keys.extentStart(k);
            Records.Extent x = Records.Extent.decode(v);
            long end = start + x.count();
            long thr = thresholdAbove(recEpochs, runningMin, e);
            end = Math.min(end, thr);
            if (end > start) {
                cands.add(new Candidate(start, end, e, x, start));
            }
            return true;
        });
        cands.sort(Comparator.comparingLong(Candidate::epoch).reversed());
        TreeMap<Long, Long> claimed = new TreeMap<>();
        List<Run> out = new ArrayList<>();
        for (Candidate c : cands) {
            long cur = c.start;
            Map.Entry<Long, Long> f = claimed.floorEntry(cur);
            if (f != null && f.getValue() > cur) {
                cur = f.getValue();
            }
            while (cur < c.end) {
                Map.Entry<Long, Long> next = claimed.ceilingEntry(cur);
                long segEnd = next == null ? c.end : Math.min(c.end, next.getKey());
                if (segEnd > cur) {
                    int off = (int) (cur - c.extStart);
                    Records.Extent x = c.ext;
                    out.add(new Run(cur, (int) (segEnd - cur), x.kind(), x.kind() == Records.DATA ? x.block() + off : 0,
                            x.crcs(), off, c.epoch));
                }
                cur = next == null || next.getKey() >= c.end ? c.end : Math.max(segEnd, next.getValue());
            }
            claim(claimed, c.start, c.end);
        }
        out.sort(Comparator.comparingLong(Run::start));
        return new ObjectIndex(exists, out.toArray(new Run[0]));
    }

    /** Smallest hideFrom among object records strictly newer than epoch {@code v}. */
    private static long thresholdAbove(long[] recEpochs, long[] runningMin, long v) {
        // recEpochs is descending; find the last index with epoch > v.
        int lo = 0;
        int hi = recEpochs.length - 1;
        int last = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (recEpochs[mid] > v) {
                last = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return last < 0 ? Long.MAX_VALUE : runningMin[last];
    }

    private static void claim(TreeMap<Long, Long> claimed, long s, long e) {
        Map.Entry<Long, Long> f = claimed.floorEntry(s);
        if (f != null && f.getValue() >= s) {
            s = f.getKey();
            e = Math.max(e, f.getValue());
        }
        Map.Entry<Long, Long> n;
        while ((n = claimed.ceilingEntry(s)) != null && n.getKey() <= e) {
            e = Math.max(e, n.getValue());
            claimed.remove(n.getKey());
        }
        claimed.put(s, e);
    }

    long[] dataPages() {
        int n = 0;
        for (Run r : runs) {
            if (r.kind == Records.DATA) {
                n += r.count;
            }
        }
        long[] out = new long[n];
        int i = 0;
        for (Run r : runs) {
            if (r.kind == Records.DATA) {
                for (int j = 0; j < r.count; j++) {
                    out[i++] = r.start + j;
                }
            }
        }
        return out;
    }
}
