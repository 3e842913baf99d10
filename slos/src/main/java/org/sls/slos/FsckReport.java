package org.sls.slos;

import java.util.List;

/**
 * What {@link Slos#fsck} found: every problem with where it is and what is wrong, whether it was
 * repaired, and how much was checked. {@link #clean()} is false while any problem is left
 * unrepaired. Immutable.
 */
public record FsckReport(String store, List<Problem> problems, long epochsChecked, long extentsChecked,
                         long pagesChecked, long recordsChecked) {

    /** Classes of problems. */
    public enum Kind {
        /** A superblock copy is missing, damaged, disagrees with the other, or lags. */
        SUPERBLOCK,
        /** A metadata record fails its CRC32C or does not decode. */
        METADATA_RECORD,
        /** An epoch whose parent or partition is missing, or whose records are inconsistent. */
        EPOCH,
        /** An extent outside the data area, beyond its segment's write pointer, or of an unknown epoch. */
        EXTENT,
        /** A stored page whose data fails its CRC32C. */
        DATA_CRC,
        /** A segment's recorded live count or write pointer disagrees with the references. */
        SEGMENT_USAGE,
        /** A record that nothing refers to (a touched key or object record of a missing epoch). */
        ORPHAN
    }

    /** One problem: kind, the thing ("object 5 page 12 epoch 7"), what is wrong, whether repaired. */
    public record Problem(Kind kind, String where, String message, boolean repaired) {
        @Override
        public String toString() {
            return kind + " " + where + ": " + message + (repaired ? " (repaired)" : "");
        }
    }

    public FsckReport {
        problems = List.copyOf(problems);
    }

    /** True when nothing is left damaged. */
    public boolean clean() {
        return problems.stream().allMatch(Problem::repaired);
    }
}
