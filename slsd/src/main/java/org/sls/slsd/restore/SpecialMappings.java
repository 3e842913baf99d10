package org.sls.slsd.restore;

import org.sls.slsd.checkpoint.manifest.RegionImage;
import org.sls.slsd.checkpoint.manifest.RegionImage.Kind;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.Vma;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.sls.slsd.linux.RestoreCalls.*;

/**
 * Step 2: the husk's [vdso], [vvar] and [vvar_vclock] moved with mremap to the addresses the
 * checkpoint recorded (the vdso's code reaches its data at a fixed offset, so they move together
 * to the recorded layout), one at a time, parking one elsewhere first when it sits where another
 * must go; one the checkpoint lacks is unmapped. Sizes were checked before anything was built
 * ({@link Checks}). Stateless.
 */
final class SpecialMappings {
    private SpecialMappings() {}

    /** Step 2: [vdso], [vvar], [vvar_vclock] to the checkpoint's addresses, one at a time. */
    static void move(RestoreRun run, Husk h) {
        run.at(RestoreStep.SPECIAL_MAPPINGS, h.checkpointedPid(), "");
        Map<Kind, long[]> current = new LinkedHashMap<>();
        for (Vma v : ProcFs.maps(h.pid)) {
            Kind k = Checks.specialKind(v.path());
            if (k != null) {
                current.put(k, new long[] {v.start(), v.end()});
            }
        }
        Map<Kind, RegionImage> wanted = new LinkedHashMap<>();
        for (RegionImage r : h.image.regions()) {
            if (r.kind() == Kind.VDSO || r.kind() == Kind.VVAR || r.kind() == Kind.VVAR_VCLOCK) {
                wanted.put(r.kind(), r);
            }
        }
        for (var e : new ArrayList<>(current.entrySet())) {
            if (!wanted.containsKey(e.getKey())) {
                run.at("munmap the husk's " + e.getKey() + " (the checkpoint has none)");
                h.leader.call("munmap", SYS_MUNMAP, e.getValue()[0], e.getValue()[1] - e.getValue()[0]);
                current.remove(e.getKey());
            }
        }
        for (RegionImage w : wanted.values()) {
            long[] cur = current.get(w.kind());
            if (cur == null || cur[1] - cur[0] != w.length()) {
                throw new RestoreException(RestoreException.Kind.VDSO_MISMATCH, Checks.who(h.checkpointedPid())
                        + ": the husk's " + w.path() + " does not match the checkpoint's " + Hexes.range(w));
            }
            if (cur[0] == w.start()) {
                continue;
            }
            for (var other : current.entrySet()) {
                long[] o = other.getValue();
                if (other.getKey() != w.kind() && o[0] < w.end() && w.start() < o[1]) {
                    // it sits where this one must go: park it elsewhere first
                    AddressGaps gaps = new AddressGaps();
                    h.image.regions().forEach(r -> gaps.add(r.start(), r.end()));
                    current.values().forEach(c -> gaps.add(c[0], c[1]));
                    gaps.add(run.scratch.address(), run.scratch.end());
                    long park = gaps.find(o[1] - o[0]);
                    run.at("park " + other.getKey() + " at " + Hexes.hex(park));
                    h.leader.call("mremap", SYS_MREMAP, o[0], o[1] - o[0], o[1] - o[0], MREMAP_MAYMOVE | MREMAP_FIXED, park);
                    other.setValue(new long[] {park, park + o[1] - o[0]});
                }
            }
            run.at("mremap " + w.path() + " " + Hexes.hex(cur[0]) + " -> " + Hexes.hex(w.start()));
            h.leader.call("mremap", SYS_MREMAP, cur[0], w.length(), w.length(), MREMAP_MAYMOVE | MREMAP_FIXED, w.start());
            current.put(w.kind(), new long[] {w.start(), w.end()});
        }
    }

}
