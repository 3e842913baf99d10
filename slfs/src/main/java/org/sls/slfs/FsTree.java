package org.sls.slfs;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * The whole metadata of one partition's file tree as stored in each slfs epoch (blob
 * {@value #BLOB}): inodes by number and directory entries by directory. The data of regular files
 * is not here: it is the slos object named by the inode number.
 *
 * <p>Encoding (version 1, big-endian): magic {@code "SLFSTREE"} u64, version u32, root inode u64,
 * inode count u32, per inode: ino u64, mode u32, uid u32, gid u32, nlink u32, rdev u64, size u64,
 * atime/mtime/ctime ns u64 ×3, target (i32 length, -1 = none, UTF-8); directory count u32, per
 * directory: ino u64, entry count u32, per entry: name (u16 length, UTF-8), child u64; then a
 * CRC32C u32 over everything before it. Inodes with link count 0 are orphans (unlinked while
 * open) and are dropped when the tree is loaded.
 *
 * <p>Not thread-safe: owned by one thread or guarded by its owner's lock.
 */
final class FsTree {
    static final String BLOB = "slfs-tree";
    private static final long MAGIC = 0x534c465354524545L; // "SLFSTREE"
    private static final int VERSION = 1;

    long rootIno;
    final HashMap<Long, InodeRecord> inodes;
    final HashMap<Long, HashMap<String, Long>> dirs;

    FsTree(long rootIno, HashMap<Long, InodeRecord> inodes, HashMap<Long, HashMap<String, Long>> dirs) {
        this.rootIno = rootIno;
        this.inodes = inodes;
        this.dirs = dirs;
    }

    /** A tree with only a root directory. */
    static FsTree empty(long rootIno, long nowNs) {
        HashMap<Long, InodeRecord> in = new HashMap<>();
        in.put(rootIno, new InodeRecord(rootIno, InodeRecord.S_IFDIR | 01777, 0, 0, 2, 0, 0, nowNs, nowNs, nowNs, null));
        HashMap<Long, HashMap<String, Long>> d = new HashMap<>();
        d.put(rootIno, new HashMap<>());
        return new FsTree(rootIno, in, d);
    }

    FsTree copy() {
        HashMap<Long, HashMap<String, Long>> d = new HashMap<>(dirs.size() * 2);
        for (Map.Entry<Long, HashMap<String, Long>> e : dirs.entrySet()) {
            d.put(e.getKey(), new HashMap<>(e.getValue()));
        }
        return new FsTree(rootIno, new HashMap<>(inodes), d);
    }

    byte[] encode() {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + inodes.size() * 96);
            DataOutputStream o = new DataOutputStream(bytes);
            o.writeLong(MAGIC);
            o.writeInt(VERSION);
            o.writeLong(rootIno);
            o.writeInt(inodes.size());
            for (InodeRecord r : inodes.values()) {
                o.writeLong(r.ino());
                o.writeInt(r.mode());
                o.writeInt(r.uid());
                o.writeInt(r.gid());
                o.writeInt(r.nlink());
                o.writeLong(r.rdev());
                o.writeLong(r.size());
                o.writeLong(r.atimeNs());
                o.writeLong(r.mtimeNs());
                o.writeLong(r.ctimeNs());
                if (r.target() == null) {
                    o.writeInt(-1);
                } else {
                    byte[] t = r.target().getBytes(StandardCharsets.UTF_8);
                    o.writeInt(t.length);
                    o.write(t);
                }
            }
            o.writeInt(dirs.size());
            for (Map.Entry<Long, HashMap<String, Long>> d : dirs.entrySet()) {
                o.writeLong(d.getKey());
                o.writeInt(d.getValue().size());
                for (Map.Entry<String, Long> e : d.getValue().entrySet()) {
                    byte[] n = e.getKey().getBytes(StandardCharsets.UTF_8);
                    o.writeShort(n.length);
                    o.write(n);
                    o.writeLong(e.getValue());
                }
            }
            o.flush();
            CRC32C crc = new CRC32C();
            byte[] body = bytes.toByteArray();
            crc.update(body);
            o.writeInt((int) crc.getValue());
            o.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Decodes a tree; {@code where} names it (partition, epoch) in the error. */
    static FsTree decode(byte[] b, String where) {
        if (b.length < 4) {
            throw new IllegalStateException(where + ": slfs tree blob is " + b.length + " bytes long");
        }
        CRC32C crc = new CRC32C();
        crc.update(b, 0, b.length - 4);
        ByteBuffer bb = ByteBuffer.wrap(b);
        if ((int) crc.getValue() != bb.getInt(b.length - 4)) {
            throw new IllegalStateException(where + ": slfs tree blob fails its CRC32C check");
        }
        try {
            if (bb.getLong() != MAGIC) {
                throw new IllegalStateException(where + ": slfs tree blob has a bad magic number");
            }
            int v = bb.getInt();
            if (v != VERSION) {
                throw new IllegalStateException(where + ": slfs tree version " + v + " is not supported (expected " + VERSION + ")");
            }
            long root = bb.getLong();
            int n = bb.getInt();
            HashMap<Long, InodeRecord> in = new HashMap<>(n * 2);
            for (int i = 0; i < n; i++) {
                long ino = bb.getLong();
                int mode = bb.getInt();
                int uid = bb.getInt();
                int gid = bb.getInt();
                int nlink = bb.getInt();
                long rdev = bb.getLong();
                long size = bb.getLong();
                long at = bb.getLong();
                long mt = bb.getLong();
                long ct = bb.getLong();
                int tl = bb.getInt();
                String target = null;
                if (tl >= 0) {
                    byte[] t = new byte[tl];
                    bb.get(t);
                    target = new String(t, StandardCharsets.UTF_8);
                }
                in.put(ino, new InodeRecord(ino, mode, uid, gid, nlink, rdev, size, at, mt, ct, target));
            }
            int nd = bb.getInt();
            HashMap<Long, HashMap<String, Long>> dirs = new HashMap<>(nd * 2);
            for (int i = 0; i < nd; i++) {
                long dir = bb.getLong();
                int ne = bb.getInt();
                HashMap<String, Long> entries = new HashMap<>(Math.max(4, ne * 2));
                for (int j = 0; j < ne; j++) {
                    byte[] name = new byte[bb.getShort() & 0xffff];
                    bb.get(name);
                    entries.put(new String(name, StandardCharsets.UTF_8), bb.getLong());
                }
                dirs.put(dir, entries);
            }
            return new FsTree(root, in, dirs);
        } catch (BufferUnderflowException e) {
            throw new IllegalStateException(where + ": slfs tree blob is truncated", e);
        }
    }
}
