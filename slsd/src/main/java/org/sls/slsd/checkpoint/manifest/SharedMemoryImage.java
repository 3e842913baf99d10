package org.sls.slsd.checkpoint.manifest;

/**
 * Shared memory (shared anonymous mapping, memfd, SysV or POSIX shm) saved once per identity and
 * mapped again by every region of kind SHARED with the same identity. Page i of the object is byte
 * offset i*4096 of the shared object. Immutable.
 *
 * @param identity "major:minor:inode" as in /proc/PID/maps
 * @param path     e.g. "/dev/zero (deleted)", "/memfd:name (deleted)", "/SYSV00000000 (deleted)"
 * @param size     bytes covered by the saved object (the largest mapped extent)
 */
public record SharedMemoryImage(String identity, String path, long size, long objectId) {}
