package org.sls.slos;

/** What one cleaner pass did: segments chosen, pages rewritten, segments freed. Immutable. */
public record CleanerReport(int victims, long pagesMoved, int segmentsFreed) {}
