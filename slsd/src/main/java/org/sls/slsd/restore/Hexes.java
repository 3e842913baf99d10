package org.sls.slsd.restore;

import org.sls.slsd.checkpoint.manifest.RegionImage;

/** Address formatting for messages. Stateless. */
final class Hexes {
    private Hexes() {}

    static String hex(long v) { return Long.toHexString(v); }

    /** "7f00..-7f10.." as /proc/PID/maps shows a range. */
    static String range(RegionImage r) { return hex(r.start()) + "-" + hex(r.end()); }
}
