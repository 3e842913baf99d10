package org.sls.slfs;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import jnr.ffi.Pointer;
import org.sls.slos.ObjectReader;

/**
 * A partition's files as of one checkpoint, read-only: the tree of an slfs epoch and a store
 * reader at that epoch. Served under {@code /.snapshots/PART/EPOCH/files/}. Thread-safe
 * (immutable tree; the reader is thread-safe).
 */
final class SnapshotTree {
    private final String where;
    private final FsTree tree;
    private final ObjectReader reader;

    SnapshotTree(String where, FsTree tree, ObjectReader reader) {
        this.where = where;
        this.tree = tree;
        this.reader = reader;
    }

    InodeRecord resolve(String rel) {
        InodeRecord cur = tree.inodes.get(tree.rootIno);
        for (String c : rel.split("/")) {
            if (c.isEmpty()) {
                continue;
            }
            HashMap<String, Long> entries = tree.dirs.get(cur.ino());
            if (entries == null) {
                throw new FsException(Errno.ENOTDIR, where + rel + ": not a directory on the way");
            }
            Long next = entries.get(c);
            if (next == null || !tree.inodes.containsKey(next)) {
                throw new FsException(Errno.ENOENT, where + rel + ": no such file");
            }
            cur = tree.inodes.get(next);
        }
        return cur;
    }

    List<String> readdir(String rel) {
        HashMap<String, Long> entries = tree.dirs.get(resolve(rel).ino());
        if (entries == null) {
            throw new FsException(Errno.ENOTDIR, where + rel + ": not a directory");
        }
        return new ArrayList<>(entries.keySet());
    }

    int read(InodeRecord in, Pointer buf, long size, long off) {
        if (off >= in.size() || size <= 0) {
            return 0;
        }
        int n = (int) Math.min(size, in.size() - off);
        long first = off / PartitionFs.PAGE;
        long last = (off + n - 1) / PartitionFs.PAGE;
        int count = (int) (last - first + 1);
        ByteBuffer bb = ByteBuffer.allocate(count * PartitionFs.PAGE);
        reader.readPages(in.ino(), first, count, bb);
        buf.put(0, bb.array(), (int) (off % PartitionFs.PAGE), n);
        return n;
    }
}
