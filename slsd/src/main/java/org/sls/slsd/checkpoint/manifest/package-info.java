/**
 * The checkpoint manifest: one JSON document per epoch, stored as the blob {@code manifest.json},
 * pretty-printed, addresses in hex strings, versioned by {@code formatVersion} (readers ignore unknown
 * fields and refuse newer versions). {@link org.sls.slsd.checkpoint.manifest.Manifest} holds the
 * processes (parents first) and the shared memory objects; each
 * {@link org.sls.slsd.checkpoint.manifest.ProcessImage} its threads, regions, fds and kernel state.
 *
 * <p>Memory: each {@link org.sls.slsd.checkpoint.manifest.RegionImage} names a slos object; page
 * {@code (address - objectBase) / 4096} of the object holds the page at {@code address}. An object
 * keeps its id across epochs while its VMA keeps its range and backing, so an incremental epoch only
 * writes the pages written since (and holes for pages gone); reading epoch E of the object gives the
 * newest version among E's ancestors. Absent pages are zeros, except in private file mappings, where
 * only the ranges listed in {@code privatePages} are private copies and every other page comes from
 * the file.
 */
package org.sls.slsd.checkpoint.manifest;
