package org.sls.slos;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * In-memory copy of the committed epochs ('E' records) with their parent links and layers, for
 * ancestry walks without touching RocksDB. Thread-safe (synchronized).
 */
final class EpochTable {
    private final TreeMap<Long, Records.Epoch> epochs = new TreeMap<>();
    /** Layer to the epoch owning it. */
    private final HashMap<Long, Long> owners = new HashMap<>();

    synchronized void put(long epoch, Records.Epoch r) {
        Records.Epoch old = epochs.put(epoch, r);
        if (old != null && Long.valueOf(epoch).equals(owners.get(old.layer()))) {
            owners.remove(old.layer());
        }
        owners.put(r.layer(), epoch);
    }

    synchronized void remove(long epoch) {
        Records.Epoch old = epochs.remove(epoch);
        if (old != null && Long.valueOf(epoch).equals(owners.get(old.layer()))) {
            owners.remove(old.layer());
        }
    }

    /** The epoch whose records are keyed under {@code layer}, or 0 when no epoch owns it. */
    synchronized long ownerOf(long layer) {
        Long e = owners.get(layer);
        return e == null ? 0 : e;
    }

    /**
     * The layers of the epoch and its ancestors, newest first. Each layer is greater than its
     * parent's, so the result is sorted descending, as {@link #contains} wants.
     */
    synchronized long[] layers(long epoch) {
        long[] a = ancestry(epoch);
        for (int i = 0; i < a.length; i++) {
            a[i] = epochs.get(a[i]).layer();
        }
        return a;
    }

    synchronized Records.Epoch get(long epoch) {
        return epochs.get(epoch);
    }

    synchronized long max() {
        return epochs.isEmpty() ? 0 : epochs.lastKey();
    }

    /** The epoch and its ancestors, newest first, sorted descending. */
    synchronized long[] ancestry(long epoch) {
        long[] out = new long[8];
        int n = 0;
        long e = epoch;
        while (e != 0) {
            Records.Epoch r = epochs.get(e);
            if (r == null) {
                break;
            }
            if (n == out.length) {
                out = Arrays.copyOf(out, n * 2);
            }
            out[n++] = e;
            e = r.parent();
        }
        return Arrays.copyOf(out, n);
    }

    synchronized List<Long> children(long epoch) {
        List<Long> out = new ArrayList<>();
        for (Map.Entry<Long, Records.Epoch> en : epochs.entrySet()) {
            if (en.getValue().parent() == epoch) {
                out.add(en.getKey());
            }
        }
        return out;
    }

    synchronized List<EpochInfo> of(String partition) {
        List<EpochInfo> out = new ArrayList<>();
        for (Map.Entry<Long, Records.Epoch> en : epochs.entrySet()) {
            if (en.getValue().partition().equals(partition)) {
                out.add(en.getValue().info(en.getKey()));
            }
        }
        return out;
    }

    synchronized List<Long> all() {
        return new ArrayList<>(epochs.keySet());
    }

    /** True when {@code epoch} (or layer) is in {@code ancestry} (sorted descending). */
    static boolean contains(long[] ancestry, long epoch) {
        int lo = 0;
        int hi = ancestry.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (ancestry[mid] == epoch) {
                return true;
            }
            if (ancestry[mid] > epoch) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return false;
    }
}
