package org.sls.slos;

/**
 * A committed epoch: its partition, number, parent (0 = none), commit time, and how many pages
 * and bytes it stored itself (holes and pages inherited from ancestors not counted). Immutable.
 */
public record EpochInfo(String partition, long epoch, long parentEpoch, long committedMillis, long pages, long bytes) {}
