package org.sls.slfs;

import java.util.HashMap;

/**
 * A live, mutable inode of one partition's tree: attributes, a directory's entries, the pages
 * written since the last freeze ({@link #dirty}) and how many FUSE handles have it open.
 * Not thread-safe: attributes and pages are guarded by the inode's monitor, entries by the
 * partition's namespace lock; all of it only while holding the partition's gate.
 */
final class Inode {
    final long ino;
    int mode;
    int uid;
    int gid;
    int nlink;
    long rdev;
    long size;
    long atimeNs;
    long mtimeNs;
    long ctimeNs;
    final String target;
    /** Directory entries (name to inode number); null for anything but a directory. */
    final HashMap<String, Long> entries;
    /** Pages written since the last freeze; null when none. */
    PageLayer dirty;
    int openCount;

    Inode(InodeRecord r, HashMap<String, Long> entries) {
        this.ino = r.ino();
        this.mode = r.mode();
        this.uid = r.uid();
        this.gid = r.gid();
        this.nlink = r.nlink();
        this.rdev = r.rdev();
        this.size = r.size();
        this.atimeNs = r.atimeNs();
        this.mtimeNs = r.mtimeNs();
        this.ctimeNs = r.ctimeNs();
        this.target = r.target();
        this.entries = r.isDir() ? (entries == null ? new HashMap<>() : new HashMap<>(entries)) : null;
    }

    InodeRecord record() {
        return new InodeRecord(ino, mode, uid, gid, nlink, rdev, size, atimeNs, mtimeNs, ctimeNs, target);
    }

    boolean isDir() {
        return entries != null;
    }

    boolean isRegular() {
        return (mode & InodeRecord.S_IFMT) == InodeRecord.S_IFREG;
    }
}
