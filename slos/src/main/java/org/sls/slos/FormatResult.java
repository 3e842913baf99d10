package org.sls.slos;

import java.nio.file.Path;
import java.util.UUID;

/** What {@link Slos#format} made: identity, location of both sides, geometry. Immutable. */
public record FormatResult(UUID uuid, Path data, Path metaDir, long size, int blockSize, int segmentSize,
                           long segments, FormatOptions.Mode mode) {}
