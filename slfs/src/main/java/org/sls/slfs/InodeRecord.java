package org.sls.slfs;

/**
 * The metadata of one inode as committed (or frozen for a snapshot): number (also the slos object
 * id of a regular file's data), mode with type bits, owner, link count, device number, byte size,
 * times in nanoseconds since the epoch, and a symlink's target (null otherwise). Immutable.
 */
record InodeRecord(long ino, int mode, int uid, int gid, int nlink, long rdev, long size,
                   long atimeNs, long mtimeNs, long ctimeNs, String target) {
    static final int S_IFMT = 0170000;
    static final int S_IFDIR = 0040000;
    static final int S_IFREG = 0100000;
    static final int S_IFLNK = 0120000;

    boolean isDir() {
        return (mode & S_IFMT) == S_IFDIR;
    }

    boolean isRegular() {
        return (mode & S_IFMT) == S_IFREG;
    }

    boolean isSymlink() {
        return (mode & S_IFMT) == S_IFLNK;
    }
}
