package org.sls.slos;

import java.nio.file.Path;

/**
 * Options of {@link Slos#format}: size (for an image that does not exist yet; 0 = keep the
 * existing size), metadata directory (null = default: {@code IMAGE.meta/} or
 * {@code /var/lib/sls/UUID/}), whether to overwrite an existing store, the I/O mode and the
 * segment size. Immutable; use the {@code with...} methods.
 */
public record FormatOptions(long size, Path metaDir, boolean force, Mode mode, int segmentSize) {

    /** How the data is accessed. Persisted in the superblock and used at every open. */
    public enum Mode {
        /** pmem (mapped) when the file lives on a DAX file system, block otherwise. */
        AUTO,
        /** Memory-mapped; MAP_SYNC where the file system offers it, else a shared mapping + force. */
        PMEM,
        /** read/write system calls, O_DIRECT where the file system allows it. */
        BLOCK
    }

    public FormatOptions {
        if (mode == null) {
            mode = Mode.AUTO;
        }
        if (segmentSize == 0) {
            segmentSize = Layout.DEFAULT_SEGMENT_SIZE;
        }
    }

    /** Defaults: keep or require size, default metadata location, no force, auto mode. */
    public static FormatOptions defaults() {
        return new FormatOptions(0, null, false, Mode.AUTO, Layout.DEFAULT_SEGMENT_SIZE);
    }

    public FormatOptions withSize(long bytes) {
        return new FormatOptions(bytes, metaDir, force, mode, segmentSize);
    }

    public FormatOptions withMetaDir(Path dir) {
        return new FormatOptions(size, dir, force, mode, segmentSize);
    }

    public FormatOptions withForce(boolean f) {
        return new FormatOptions(size, metaDir, f, mode, segmentSize);
    }

    public FormatOptions withMode(Mode m) {
        return new FormatOptions(size, metaDir, force, m, segmentSize);
    }

    public FormatOptions withSegmentSize(int bytes) {
        return new FormatOptions(size, metaDir, force, mode, bytes);
    }
}
