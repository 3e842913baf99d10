package org.sls.slfs;

import java.util.List;

/**
 * What the daemon knows about a checkpoint that slfs shows read-only under
 * {@code /.snapshots/PART/EPOCH/}: the manifest, the processes, and per process its files
 * ({@code state.json}, {@code maps}, {@code core}). Implemented by slsd; slfs calls it from FUSE
 * threads, several at once, so implementations must be thread-safe. Results are cached by slfs
 * for a short while, so they should not change for a given epoch.
 */
public interface SnapshotContent {
    /** The checkpoint's {@code manifest.json}, or null when the epoch has none. */
    byte[] manifest(String partition, long epoch);

    /** The processes of the checkpoint (one directory each); empty when none. */
    List<Integer> pids(String partition, long epoch);

    /** One per-process file ({@code state.json}, {@code maps}, {@code core}); null when absent. */
    byte[] file(String partition, long epoch, int pid, String name);

    /** The per-process file names slfs lists. */
    List<String> FILES = List.of("state.json", "maps", "core");

    /** No daemon content: snapshot directories hold only {@code files/}. */
    SnapshotContent NONE = new SnapshotContent() {
        @Override
        public byte[] manifest(String partition, long epoch) {
            return null;
        }

        @Override
        public List<Integer> pids(String partition, long epoch) {
            return List.of();
        }

        @Override
        public byte[] file(String partition, long epoch, int pid, String name) {
            return null;
        }
    };
}
