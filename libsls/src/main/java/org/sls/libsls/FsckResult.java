package org.sls.libsls;

import java.util.List;

/**
 * What fsck found in a store: the same fields as the store's own report, so that slsd can send
 * that report as it is. Immutable.
 *
 * @param store          the store checked
 * @param problems       every problem found, repaired or not
 * @param epochsChecked  committed epochs walked
 * @param extentsChecked stored extents whose references were checked
 * @param pagesChecked   stored pages whose CRC32C was verified
 * @param recordsChecked metadata records whose CRC32C was verified
 */
public record FsckResult(String store, List<Problem> problems, long epochsChecked, long extentsChecked,
                         long pagesChecked, long recordsChecked) {

    /** One problem: its class, where it is ("object 5 page 12 epoch 7"), what is wrong, whether repaired. */
    public record Problem(String kind, String where, String message, boolean repaired) {
        @Override
        public String toString() {
            return kind + " " + where + ": " + message + (repaired ? " (repaired)" : "");
        }
    }

    /** True when nothing is left damaged. */
    public boolean clean() {
        return problems.stream().allMatch(Problem::repaired);
    }
}
