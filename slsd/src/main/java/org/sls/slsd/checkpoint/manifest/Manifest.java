package org.sls.slsd.checkpoint.manifest;

import java.util.List;

/**
 * What one checkpoint (one epoch of one partition) holds: every process of the tree with its
 * threads, memory regions (each referring to a slos object), fds and kernel state, plus the shared
 * memory objects the processes map. Stored pretty-printed as the blob {@value #BLOB} of the epoch
 * (see {@link ManifestCodec}). Immutable.
 *
 * @param formatVersion {@link #FORMAT_VERSION} of the writer; readers refuse newer major versions
 * @param mode          "full" or "delta": how pages were selected (a delta still references every
 *                      region; pages not written this epoch come from the ancestry)
 * @param processes     parents before children
 */
public record Manifest(int formatVersion, String partition, long epoch, long parentEpoch, String mode,
                       long createdMillis, String kernelRelease, int pageSize, boolean recursive,
                       List<ProcessImage> processes, List<SharedMemoryImage> sharedMemory) {
    public static final int FORMAT_VERSION = 1;
    public static final String BLOB = "manifest.json";

    public ProcessImage process(int pid) {
        return processes.stream().filter(p -> p.pid() == pid).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("pid " + pid + " is not in epoch " + epoch));
    }
}
