package org.sls.slos;

/**
 * Space accounting of a store: data bytes in total, referenced by live pages ({@code used}),
 * allocatable ({@code free}: whole free segments), and segment counts. A segment partly written
 * but sparse is neither used nor free until the cleaner rewrites it. Immutable.
 */
public record StoreUsage(long totalBytes, long usedBytes, long freeBytes, long segments, long freeSegments,
                         int segmentSize, long metadataBytes) {}
