package org.sls.slos;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * What to clean: the sparsest segments (fewest live pages per block written), as many as the free
 * space can take in, since their live pages must be copied before they are freed. Segments held
 * by writers are never chosen. Stateless; thread-safe.
 */
final class VictimSelector {
    private VictimSelector() {}

    /**
     * Up to {@code max} segments whose live fraction is at most {@code maxLiveRatio}, sparsest
     * first, whose live pages together fit in {@code freeBlocks}.
     */
    static List<Integer> choose(List<SegmentTable.Info> segs, int segBlocks, int max, double maxLiveRatio, long freeBlocks) {
        List<SegmentTable.Info> cands = new ArrayList<>();
        for (SegmentTable.Info i : segs) {
            boolean written = i.state() == SegmentTable.State.FULL || i.state() == SegmentTable.State.PARTIAL;
            // A partial segment is still being filled by appends: clean it only when mostly dead.
            double ratio = (double) i.live() / segBlocks;
            double garbage = (double) (i.used() - i.live()) / segBlocks;
            if (written && i.live() > 0 && ratio <= maxLiveRatio
                    && (i.state() == SegmentTable.State.FULL || garbage >= 0.5)) {
                cands.add(i);
            }
        }
        cands.sort(Comparator.comparingLong(SegmentTable.Info::live));
        List<Integer> out = new ArrayList<>();
        long need = 0;
        for (SegmentTable.Info i : cands) {
            if (out.size() == max || need + i.live() > freeBlocks) {
                break;
            }
            need += i.live();
            out.add(i.seg());
        }
        return out;
    }
}
