package org.sls.slfs;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import jnr.ffi.Pointer;
import org.sls.slos.EpochInfo;
import org.sls.slos.EpochWriter;
import org.sls.slos.ObjectReader;
import org.sls.slos.PartitionRecord;
import org.sls.slos.Slos;
import org.sls.slos.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live file tree of one partition ({@code /MOUNT/PART/}) and its history in slos.
 *
 * <p><b>Where the state lives.</b> Each partition PART has a hidden slos partition
 * {@code .slfs.PART} (its <i>lineage</i>) whose epochs are states of the tree: an epoch holds the
 * whole metadata as the blob {@link FsTree#BLOB} and, per regular file, the pages that changed,
 * in the slos object whose id is the inode number. The newest lineage epoch is the
 * <i>head</i>. Above the head, in memory, sit the frozen but not yet committed {@link Layer}s
 * (oldest first) and, per inode, the dirty pages written since the last freeze. A read looks at
 * the dirty pages, then the layers newest first, then the store at the head.
 *
 * <p><b>Freeze and commit.</b> {@link #freeze()} takes the gate exclusively (waiting for the
 * operations in flight), moves every dirty page map and a copy of every changed inode record and
 * directory entry into a new layer, in O(changes), and lets go. Committing a layer (one thread at
 * a time, under the commit lock, oldest layer first) writes it as a new lineage epoch on top of
 * the head and makes that epoch the head. {@code fsync}, the write-back of more than
 * {@value #WRITEBACK_BYTES} dirty bytes, the periodic write-back and a checkpoint's
 * {@link FsSnapshot#writeTo} all do freeze + commit; a checkpoint freezes while the processes are
 * frozen and commits after they resume.
 *
 * <p><b>Checkpoints and rollback.</b> A checkpoint of PART at epoch E stores the blob
 * {@value #REF_BLOB} in E naming the lineage epoch of its files. Rolling back to E loads that
 * lineage epoch's tree, drops everything above it and commits a new head on top of it (a branch),
 * so the rolled-back state is durable and the later epochs stay restorable. Lineage epochs that
 * are neither the head nor named by an epoch of PART are deleted (slos folds them into their
 * children).
 *
 * <p>Thread-safe. Locks, in order: the gate (read for every operation, write to freeze or roll
 * back), the namespace lock (directory entries, the inode table), an inode's monitor (its
 * attributes and pages). The commit lock is taken before the gate, never while holding it.
 */
final class PartitionFs {
    private static final Logger log = LoggerFactory.getLogger(PartitionFs.class);
    static final int PAGE = 4096;
    /** Prefix of the hidden slos partition that holds a partition's files. */
    static final String LINEAGE_PREFIX = ".slfs.";
    /** Blob in a checkpoint epoch of the partition naming the lineage epoch of its files. */
    static final String REF_BLOB = "slfs.json";
    /** Dirty bytes above which a background write-back starts. */
    static final long WRITEBACK_BYTES = 32L << 20;
    /** Dirty plus not yet committed bytes above which a writer commits them itself (back-pressure). */
    static final long DIRTY_LIMIT_BYTES = 256L << 20;
    private static final long SOFT_PIN_MILLIS = 10 * 60_000L;
    /**
     * Old lineage epochs are deleted after this many commits (or a minute): deleting one folds
     * what it holds into its child, and the epoch below the head holds everything written since
     * the previous collection, so collecting after every commit would copy the whole history's
     * records each time.
     */
    private static final int GC_EVERY_COMMITS = 16;
    private static final long GC_EVERY_MILLIS = 60_000L;
    private static final byte[] ZERO = new byte[PAGE];
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ThreadLocal<ByteBuffer> READ_BUF = ThreadLocal.withInitial(() -> ByteBuffer.allocate(36 * PAGE));

    /** The content of {@value #REF_BLOB}. */
    record SnapshotRef(int version, String lineage, long epoch) {}

    final Slos store;
    final String partition;
    final String lineage;

    private final ReentrantReadWriteLock gate = new ReentrantReadWriteLock();
    private final Object ns = new Object();
    private final ReentrantLock commitLock = new ReentrantLock();

    // Live tree: the map under ns (or the gate's write lock), each inode under its monitor.
    private HashMap<Long, Inode> inodes = new HashMap<>();
    private long rootIno;
    private volatile long generation;
    private final Set<Long> metaDirty = ConcurrentHashMap.newKeySet();
    private final Set<Long> dataDirty = ConcurrentHashMap.newKeySet();
    private final Set<Layer.Dentry> dentryDirty = new HashSet<>();
    private final AtomicLong dirtyBytes = new AtomicLong();
    private final AtomicLong pendingBytes = new AtomicLong();
    private final java.util.concurrent.Executor flusher;
    private final java.util.concurrent.atomic.AtomicBoolean flushQueued = new java.util.concurrent.atomic.AtomicBoolean();
    // Modified under the gate's write lock, read under its read lock.
    private final ArrayDeque<Layer> pending = new ArrayDeque<>();
    private long layerSeq;
    private volatile long head;
    private volatile ObjectReader base;
    // Guarded by the commit lock.
    private FsTree committed;
    private final Map<Long, Long> refCache = new ConcurrentHashMap<>();
    private final Map<Long, Long> softPins = new ConcurrentHashMap<>();
    private int commitsSinceGc;
    private long lastGcMillis = System.currentTimeMillis();

    /** Opens the partition's tree at its lineage's newest epoch, or creates an empty tree. */
    PartitionFs(Slos store, String partition, java.util.concurrent.Executor flusher) {
        this.store = store;
        this.flusher = flusher;
        this.partition = partition;
        this.lineage = LINEAGE_PREFIX + partition;
        OptionalLong last = store.partition(lineage).isPresent() ? store.lastEpoch(lineage) : OptionalLong.empty();
        FsTree t;
        if (last.isPresent()) {
            head = last.getAsLong();
            t = loadTree(head);
            base = store.reader(lineage, head);
            log.info("slfs: partition {} files at slfs epoch {} ({} inodes)", partition, head, t.inodes.size());
        } else {
            t = FsTree.empty(store.newObjectId(), nowNs());
        }
        committed = t;
        install(t);
        if (head == 0) {
            metaDirty.add(t.rootIno);
        }
    }

    static boolean isLineage(String name) {
        return name.startsWith(LINEAGE_PREFIX);
    }

    long head() {
        return head;
    }

    private FsTree loadTree(long epoch) {
        return FsTree.decode(store.readBlob(lineage, epoch, FsTree.BLOB), "partition " + partition + " slfs epoch " + epoch);
    }

    /**
     * libfuse renames a file unlinked while open to {@code .fuse_hiddenNNN} and unlinks it at the
     * last close; after a crash or a rollback nothing has it open, so such names are garbage.
     */
    static boolean isHiddenByFuse(String name) {
        return name.startsWith(".fuse_hidden");
    }

    /** Drops libfuse's unlinked-while-open names from a tree being loaded. */
    static void dropFuseHidden(FsTree t) {
        for (HashMap<String, Long> entries : t.dirs.values()) {
            for (Iterator<Map.Entry<String, Long>> it = entries.entrySet().iterator(); it.hasNext(); ) {
                Map.Entry<String, Long> e = it.next();
                if (isHiddenByFuse(e.getKey())) {
                    it.remove();
                    InodeRecord r = t.inodes.get(e.getValue());
                    if (r != null && !r.isDir()) {
                        t.inodes.put(r.ino(), new InodeRecord(r.ino(), r.mode(), r.uid(), r.gid(), r.nlink() - 1, r.rdev(), r.size(),
                                r.atimeNs(), r.mtimeNs(), r.ctimeNs(), r.target()));
                    }
                }
            }
        }
    }

    /** Replaces the live tree by {@code t} (gate write lock held, or construction). */
    private void install(FsTree t) {
        dropFuseHidden(t);
        HashMap<Long, Inode> live = new HashMap<>(t.inodes.size() * 2);
        for (InodeRecord r : t.inodes.values()) {
            if (r.nlink() == 0 && !r.isDir()) {
                metaDirty.add(r.ino()); // an orphan of a crash or of a rollback: its object goes at the next commit
                continue;
            }
            live.put(r.ino(), new Inode(r, t.dirs.get(r.ino())));
        }
        inodes = live;
        rootIno = t.rootIno;
    }

    static long nowNs() {
        Instant n = Instant.now();
        return n.getEpochSecond() * 1_000_000_000L + n.getNano();
    }

    // ---- path resolution (ns held) ------------------------------------------------------------

    private String where(String rel) {
        return "partition " + partition + " path /" + partition + rel;
    }

    private Inode resolve(String rel) {
        Inode cur = inodes.get(rootIno);
        int i = 0;
        int n = rel.length();
        while (i < n) {
            if (rel.charAt(i) == '/') {
                i++;
                continue;
            }
            int j = rel.indexOf('/', i);
            if (j < 0) {
                j = n;
            }
            if (cur.entries == null) {
                throw new FsException(Errno.ENOTDIR, where(rel) + ": not a directory on the way");
            }
            Long next = cur.entries.get(rel.substring(i, j));
            if (next == null) {
                throw new FsException(Errno.ENOENT, where(rel) + ": no such file");
            }
            cur = inodes.get(next);
            if (cur == null) {
                throw new FsException(Errno.EIO, where(rel) + ": entry names missing inode " + next);
            }
            i = j + 1;
        }
        return cur;
    }

    /** The parent directory of {@code rel} and the last name. */
    private record Parent(Inode dir, String name) {}

    private Parent parent(String rel) {
        int k = rel.lastIndexOf('/');
        String name = rel.substring(k + 1);
        if (name.isEmpty()) {
            throw new FsException(Errno.EINVAL, where(rel) + ": no name");
        }
        if (name.getBytes(StandardCharsets.UTF_8).length > 255) {
            throw new FsException(Errno.ENAMETOOLONG, where(rel) + ": name longer than 255 bytes");
        }
        Inode d = resolve(k <= 0 ? "" : rel.substring(0, k));
        if (d.entries == null) {
            throw new FsException(Errno.ENOTDIR, where(rel) + ": parent is not a directory");
        }
        return new Parent(d, name);
    }

    private void entryChanged(Inode dir, String name) {
        dentryDirty.add(new Layer.Dentry(dir.ino, name));
        metaDirty.add(dir.ino);
    }

    private Inode newInode(int mode, int uid, int gid, int nlink, long rdev, String target) {
        long now = nowNs();
        long ino = store.newObjectId();
        long size = target == null ? 0 : target.getBytes(StandardCharsets.UTF_8).length;
        Inode in = new Inode(new InodeRecord(ino, mode, uid, gid, nlink, rdev, size, now, now, now, target), null);
        inodes.put(ino, in);
        metaDirty.add(ino);
        return in;
    }

    private static void touchDir(Inode dir) {
        synchronized (dir) {
            dir.mtimeNs = dir.ctimeNs = nowNs();
        }
    }

    /** Forgets an inode that has no name and no handle (ns held). */
    private void free(Inode in) {
        inodes.remove(in.ino);
        metaDirty.add(in.ino);
        synchronized (in) {
            if (in.dirty != null) {
                dirtyBytes.addAndGet(-(long) in.dirty.pages.size() * PAGE);
                in.dirty = null;
            }
        }
    }

    private void unlinkFrom(Inode in) {
        synchronized (in) {
            in.nlink--;
            in.ctimeNs = nowNs();
        }
        metaDirty.add(in.ino);
        if (in.nlink <= 0 && in.openCount == 0) {
            free(in);
        }
    }

    // ---- namespace operations -----------------------------------------------------------------

    private interface Op<T> {
        T run();
    }

    private <T> T locked(Op<T> op) {
        gate.readLock().lock();
        try {
            synchronized (ns) {
                return op.run();
            }
        } finally {
            gate.readLock().unlock();
        }
    }

    InodeRecord getattr(String rel) {
        return locked(() -> {
            Inode in = resolve(rel);
            synchronized (in) {
                return in.record();
            }
        });
    }

    InodeRecord getattr(OpenFile.Live h) {
        gate.readLock().lock();
        try {
            Inode in = live(h);
            synchronized (in) {
                return in.record();
            }
        } finally {
            gate.readLock().unlock();
        }
    }

    List<String> readdir(String rel) {
        return locked(() -> {
            Inode d = resolve(rel);
            if (d.entries == null) {
                throw new FsException(Errno.ENOTDIR, where(rel) + ": not a directory");
            }
            List<String> names = new ArrayList<>(d.entries.size());
            for (String n : d.entries.keySet()) {
                if (!isHiddenByFuse(n)) {
                    names.add(n);
                }
            }
            return names;
        });
    }

    OpenFile.Live create(String rel, int mode, int uid, int gid) {
        return locked(() -> {
            Parent p = parent(rel);
            Long existing = p.dir.entries.get(p.name);
            Inode in;
            if (existing != null) {
                in = inodes.get(existing);
                if (in.isDir()) {
                    throw new FsException(Errno.EISDIR, where(rel) + ": is a directory");
                }
            } else {
                in = newInode(InodeRecord.S_IFREG | (mode & 07777), uid, gid, 1, 0, null);
                p.dir.entries.put(p.name, in.ino);
                entryChanged(p.dir, p.name);
                touchDir(p.dir);
            }
            in.openCount++;
            return new OpenFile.Live(this, in, generation);
        });
    }

    OpenFile.Live open(String rel) {
        return locked(() -> {
            Inode in = resolve(rel);
            in.openCount++;
            return new OpenFile.Live(this, in, generation);
        });
    }

    void release(OpenFile.Live h) {
        locked(() -> {
            if (h.generation() != generation) {
                return null;
            }
            Inode in = h.inode();
            in.openCount--;
            if (in.openCount == 0 && in.nlink <= 0 && inodes.get(in.ino) == in) {
                free(in);
            }
            return null;
        });
    }

    void mknod(String rel, int mode, long rdev, int uid, int gid) {
        locked(() -> {
            Parent p = parent(rel);
            if (p.dir.entries.containsKey(p.name)) {
                throw new FsException(Errno.EEXIST, where(rel) + ": exists");
            }
            int type = mode & InodeRecord.S_IFMT;
            Inode in = newInode((type == 0 ? InodeRecord.S_IFREG : type) | (mode & 07777), uid, gid, 1, rdev, null);
            p.dir.entries.put(p.name, in.ino);
            entryChanged(p.dir, p.name);
            touchDir(p.dir);
            return null;
        });
    }

    void mkdir(String rel, int mode, int uid, int gid) {
        locked(() -> {
            Parent p = parent(rel);
            if (p.dir.entries.containsKey(p.name)) {
                throw new FsException(Errno.EEXIST, where(rel) + ": exists");
            }
            Inode in = newInode(InodeRecord.S_IFDIR | (mode & 07777), uid, gid, 2, 0, null);
            p.dir.entries.put(p.name, in.ino);
            entryChanged(p.dir, p.name);
            synchronized (p.dir) {
                p.dir.nlink++;
            }
            touchDir(p.dir);
            return null;
        });
    }

    void symlink(String target, String rel, int uid, int gid) {
        locked(() -> {
            Parent p = parent(rel);
            if (p.dir.entries.containsKey(p.name)) {
                throw new FsException(Errno.EEXIST, where(rel) + ": exists");
            }
            Inode in = newInode(InodeRecord.S_IFLNK | 0777, uid, gid, 1, 0, target);
            p.dir.entries.put(p.name, in.ino);
            entryChanged(p.dir, p.name);
            touchDir(p.dir);
            return null;
        });
    }

    String readlink(String rel) {
        return locked(() -> {
            Inode in = resolve(rel);
            if (in.target == null) {
                throw new FsException(Errno.EINVAL, where(rel) + ": not a symbolic link");
            }
            return in.target;
        });
    }

    void unlink(String rel) {
        locked(() -> {
            Parent p = parent(rel);
            Long ino = p.dir.entries.get(p.name);
            if (ino == null) {
                throw new FsException(Errno.ENOENT, where(rel) + ": no such file");
            }
            Inode in = inodes.get(ino);
            if (in.isDir()) {
                throw new FsException(Errno.EISDIR, where(rel) + ": is a directory");
            }
            p.dir.entries.remove(p.name);
            entryChanged(p.dir, p.name);
            touchDir(p.dir);
            unlinkFrom(in);
            return null;
        });
    }

    void rmdir(String rel) {
        locked(() -> {
            Parent p = parent(rel);
            Long ino = p.dir.entries.get(p.name);
            if (ino == null) {
                throw new FsException(Errno.ENOENT, where(rel) + ": no such directory");
            }
            Inode in = inodes.get(ino);
            if (!in.isDir()) {
                throw new FsException(Errno.ENOTDIR, where(rel) + ": not a directory");
            }
            if (!in.entries.isEmpty()) {
                throw new FsException(Errno.ENOTEMPTY, where(rel) + ": directory not empty");
            }
            p.dir.entries.remove(p.name);
            entryChanged(p.dir, p.name);
            synchronized (p.dir) {
                p.dir.nlink--;
            }
            touchDir(p.dir);
            in.nlink = 0;
            free(in);
            return null;
        });
    }

    /** Atomic rename within the partition, replacing the target as POSIX says. */
    void rename(String from, String to) {
        locked(() -> {
            Parent s = parent(from);
            Parent d = parent(to);
            Long ino = s.dir.entries.get(s.name);
            if (ino == null) {
                throw new FsException(Errno.ENOENT, where(from) + ": no such file");
            }
            Inode src = inodes.get(ino);
            if (src.isDir() && (to + "/").startsWith(from + "/")) {
                throw new FsException(Errno.EINVAL, where(from) + ": cannot move a directory into itself (" + to + ")");
            }
            Long old = d.dir.entries.get(d.name);
            if (old != null) {
                if (old.longValue() == ino) {
                    return null;
                }
                Inode victim = inodes.get(old);
                if (victim.isDir()) {
                    if (!src.isDir()) {
                        throw new FsException(Errno.EISDIR, where(to) + ": is a directory");
                    }
                    if (!victim.entries.isEmpty()) {
                        throw new FsException(Errno.ENOTEMPTY, where(to) + ": directory not empty");
                    }
                    synchronized (d.dir) {
                        d.dir.nlink--;
                    }
                    victim.nlink = 0;
                    free(victim);
                } else {
                    if (src.isDir()) {
                        throw new FsException(Errno.ENOTDIR, where(to) + ": not a directory");
                    }
                    unlinkFrom(victim);
                }
            }
            s.dir.entries.remove(s.name);
            d.dir.entries.put(d.name, ino);
            entryChanged(s.dir, s.name);
            entryChanged(d.dir, d.name);
            if (src.isDir() && s.dir != d.dir) {
                synchronized (s.dir) {
                    s.dir.nlink--;
                }
                synchronized (d.dir) {
                    d.dir.nlink++;
                }
            }
            touchDir(s.dir);
            touchDir(d.dir);
            synchronized (src) {
                src.ctimeNs = nowNs();
            }
            metaDirty.add(ino);
            return null;
        });
    }

    void link(String from, String to) {
        locked(() -> {
            Inode in = resolve(from);
            if (in.isDir()) {
                throw new FsException(Errno.EPERM, where(from) + ": cannot hard-link a directory");
            }
            Parent d = parent(to);
            if (d.dir.entries.containsKey(d.name)) {
                throw new FsException(Errno.EEXIST, where(to) + ": exists");
            }
            d.dir.entries.put(d.name, in.ino);
            entryChanged(d.dir, d.name);
            touchDir(d.dir);
            synchronized (in) {
                in.nlink++;
                in.ctimeNs = nowNs();
            }
            metaDirty.add(in.ino);
            return null;
        });
    }

    void chmod(String rel, int mode) {
        locked(() -> {
            Inode in = resolve(rel);
            synchronized (in) {
                in.mode = (in.mode & InodeRecord.S_IFMT) | (mode & 07777);
                in.ctimeNs = nowNs();
            }
            metaDirty.add(in.ino);
            return null;
        });
    }

    /** Changes owner and/or group; -1 leaves one as it is. */
    void chown(String rel, int uid, int gid) {
        locked(() -> {
            Inode in = resolve(rel);
            synchronized (in) {
                if (uid != -1) {
                    in.uid = uid;
                }
                if (gid != -1) {
                    in.gid = gid;
                }
                in.ctimeNs = nowNs();
            }
            metaDirty.add(in.ino);
            return null;
        });
    }

    /** Sets times; {@link Long#MIN_VALUE} leaves one as it is. */
    void utimens(String rel, long atimeNs, long mtimeNs) {
        locked(() -> {
            Inode in = resolve(rel);
            synchronized (in) {
                if (atimeNs != Long.MIN_VALUE) {
                    in.atimeNs = atimeNs;
                }
                if (mtimeNs != Long.MIN_VALUE) {
                    in.mtimeNs = mtimeNs;
                }
                in.ctimeNs = nowNs();
            }
            metaDirty.add(in.ino);
            return null;
        });
    }

    void truncate(String rel, long size) {
        gate.readLock().lock();
        try {
            Inode in;
            synchronized (ns) {
                in = resolve(rel);
            }
            truncate(in, size, rel);
        } finally {
            gate.readLock().unlock();
        }
    }

    void truncate(OpenFile.Live h, long size) {
        gate.readLock().lock();
        try {
            truncate(live(h), size, "inode " + h.inode().ino);
        } finally {
            gate.readLock().unlock();
        }
    }

    // ---- data ---------------------------------------------------------------------------------

    private Inode live(OpenFile.Live h) {
        if (h.generation() != generation) {
            throw new FsException(Errno.ESTALE, "partition " + partition + " inode " + h.inode().ino + ": the partition was rolled back since it was opened");
        }
        return h.inode();
    }

    /**
     * The page as the layers above the store see it: a page array, {@link #ZERO} when a layer hid
     * it, or null when the store at the head decides (gate held, inode monitor held).
     */
    private byte[] layerPage(Inode in, long idx) {
        PageLayer d = in.dirty;
        if (d != null) {
            byte[] p = d.pages.get(idx);
            if (p != null) {
                return p;
            }
            if (idx >= d.hideFrom) {
                return ZERO;
            }
        }
        if (!pending.isEmpty()) {
            for (Iterator<Layer> it = pending.descendingIterator(); it.hasNext(); ) {
                PageLayer pl = it.next().pages.get(in.ino);
                if (pl != null) {
                    byte[] p = pl.pages.get(idx);
                    if (p != null) {
                        return p;
                    }
                    if (idx >= pl.hideFrom) {
                        return ZERO;
                    }
                }
            }
        }
        return null;
    }

    private void loadPage(Inode in, long idx, byte[] dst) {
        byte[] p = layerPage(in, idx);
        if (p != null) {
            System.arraycopy(p, 0, dst, 0, PAGE);
            return;
        }
        ObjectReader r = base;
        if (r != null) {
            r.readPage(in.ino, idx, ByteBuffer.wrap(dst));
        }
    }

    int read(OpenFile.Live h, Pointer buf, long size, long off) {
        gate.readLock().lock();
        try {
            Inode in = live(h);
            synchronized (in) {
                if (off >= in.size || size <= 0) {
                    return 0;
                }
                int n = (int) Math.min(size, in.size - off);
                int done = 0;
                while (done < n) {
                    long pos = off + done;
                    long idx = pos / PAGE;
                    int inOff = (int) (pos % PAGE);
                    byte[] p = layerPage(in, idx);
                    if (p != null) {
                        int len = Math.min(PAGE - inOff, n - done);
                        buf.put(done, p, inOff, len);
                        done += len;
                        continue;
                    }
                    long lastByte = off + n - 1;
                    long last = idx;
                    while (last < lastByte / PAGE && last - idx < 31 && layerPage(in, last + 1) == null) {
                        last++;
                    }
                    int count = (int) (last - idx + 1);
                    ByteBuffer bb = READ_BUF.get();
                    bb.clear();
                    ObjectReader r = base;
                    if (r != null) {
                        r.readPages(in.ino, idx, count, bb);
                    } else {
                        Arrays.fill(bb.array(), 0, count * PAGE, (byte) 0);
                    }
                    int len = (int) Math.min((long) count * PAGE - inOff, n - done);
                    buf.put(done, bb.array(), inOff, len);
                    done += len;
                }
                return n;
            }
        } finally {
            gate.readLock().unlock();
        }
    }

    int write(OpenFile.Live h, Pointer buf, long size, long off) {
        gate.readLock().lock();
        try {
            Inode in = live(h);
            if (!in.isRegular()) {
                throw new FsException(Errno.EINVAL, "partition " + partition + " inode " + in.ino + ": not a regular file");
            }
            synchronized (in) {
                if (in.dirty == null) {
                    in.dirty = new PageLayer();
                }
                dataDirty.add(in.ino);
                int done = 0;
                while (done < size) {
                    long pos = off + done;
                    long idx = pos / PAGE;
                    int inOff = (int) (pos % PAGE);
                    int len = (int) Math.min(PAGE - inOff, size - done);
                    byte[] p = in.dirty.pages.get(idx);
                    if (p == null) {
                        p = new byte[PAGE];
                        if (!(inOff == 0 && len == PAGE) && idx * PAGE < in.size) {
                            loadPage(in, idx, p);
                        }
                        in.dirty.pages.put(idx, p);
                        dirtyBytes.addAndGet(PAGE);
                    }
                    buf.get(done, p, inOff, len);
                    done += len;
                }
                in.size = Math.max(in.size, off + size);
                in.mtimeNs = in.ctimeNs = nowNs();
                metaDirty.add(in.ino);
            }
        } finally {
            gate.readLock().unlock();
        }
        long dirty = dirtyBytes.get();
        if (dirty + pendingBytes.get() > DIRTY_LIMIT_BYTES) {
            sync();
        } else if (dirty > WRITEBACK_BYTES && flushQueued.compareAndSet(false, true)) {
            // commit in the background while the writer goes on filling the next layer
            flusher.execute(() -> {
                flushQueued.set(false);
                try {
                    sync();
                } catch (RuntimeException e) {
                    log.warn("slfs: background write-back of partition {} failed: {}", partition, e.getMessage());
                }
            });
        }
        return (int) size;
    }

    /** Truncates or extends (gate held). Keeps the invariant: nothing visible at or past the size. */
    private void truncate(Inode in, long size, String what) {
        if (size < 0) {
            throw new FsException(Errno.EINVAL, "partition " + partition + " " + what + ": negative size");
        }
        if (in.isDir()) {
            throw new FsException(Errno.EISDIR, "partition " + partition + " " + what + ": is a directory");
        }
        synchronized (in) {
            if (size < in.size) {
                long keep = (size + PAGE - 1) / PAGE;
                if (in.dirty == null) {
                    in.dirty = new PageLayer();
                }
                dataDirty.add(in.ino);
                int before = in.dirty.pages.size();
                in.dirty.pages.keySet().removeIf(k -> k >= keep);
                dirtyBytes.addAndGet(-(long) (before - in.dirty.pages.size()) * PAGE);
                in.dirty.hideFrom = Math.min(in.dirty.hideFrom, keep);
                int tail = (int) (size % PAGE);
                if (tail != 0) {
                    long idx = keep - 1;
                    byte[] p = in.dirty.pages.get(idx);
                    if (p == null) {
                        p = new byte[PAGE];
                        loadPage(in, idx, p);
                        in.dirty.pages.put(idx, p);
                        dirtyBytes.addAndGet(PAGE);
                    }
                    Arrays.fill(p, tail, PAGE, (byte) 0);
                }
            }
            in.size = size;
            in.mtimeNs = in.ctimeNs = nowNs();
        }
        metaDirty.add(in.ino);
    }

    long dirtyBytes() {
        return dirtyBytes.get();
    }

    boolean hasChanges() {
        return !metaDirty.isEmpty() || !dataDirty.isEmpty() || !pending.isEmpty();
    }

    // ---- freeze, commit, snapshot, rollback -----------------------------------------------------

    /**
     * Moves everything changed since the last freeze into a new layer (O(changes)); returns it,
     * or the newest pending layer when nothing changed, or null when nothing is pending either
     * (the head is then the current state).
     */
    Layer freeze() {
        gate.writeLock().lock();
        try {
            return freezeLocked(false);
        } finally {
            gate.writeLock().unlock();
        }
    }

    private Layer freezeLocked(boolean force) {
        if (!force && metaDirty.isEmpty() && dataDirty.isEmpty() && dentryDirty.isEmpty()) {
            return pending.peekLast();
        }
        Layer l = new Layer(++layerSeq);
        for (Long ino : dataDirty) {
            Inode in = inodes.get(ino);
            if (in != null && in.dirty != null) {
                if (!in.dirty.isEmpty()) {
                    l.pages.put(ino, in.dirty);
                }
                in.dirty = null;
            }
        }
        for (Long ino : metaDirty) {
            Inode in = inodes.get(ino);
            l.inodes.put(ino, in == null ? null : in.record());
        }
        for (Layer.Dentry d : dentryDirty) {
            Inode dir = inodes.get(d.dir());
            l.dentries.put(d, dir == null || dir.entries == null ? null : dir.entries.get(d.name()));
        }
        dataDirty.clear();
        metaDirty.clear();
        dentryDirty.clear();
        l.bytes = dirtyBytes.getAndSet(0);
        pendingBytes.addAndGet(l.bytes);
        pending.addLast(l);
        return l;
    }

    /** Makes everything written so far durable (fsync, write-back). */
    void sync() {
        Layer l = freeze();
        if (l != null) {
            commitUpTo(l);
        }
    }

    /**
     * Commits pending layers, oldest first, until {@code target} is committed; returns its epoch.
     * A snapshot's layer is pinned by whichever commit writes it (see {@link #commitLayer}).
     */
    long commitUpTo(Layer target) {
        commitLock.lock();
        try {
            while (target.epoch == 0) {
                if (target.dropped) {
                    throw new StoreException(StoreException.Kind.INVALID, "partition " + partition
                            + ": files were rolled back before this snapshot was written");
                }
                Layer first;
                gate.readLock().lock();
                try {
                    first = pending.peekFirst();
                } finally {
                    gate.readLock().unlock();
                }
                if (first == null) {
                    throw new IllegalStateException("partition " + partition + ": layer " + target.seq + " is neither pending nor committed");
                }
                commitLayer(first);
            }
            return target.epoch;
        } finally {
            commitLock.unlock();
        }
    }

    /** Writes one layer as a new lineage epoch on top of the head (commit lock held). */
    private void commitLayer(Layer l) {
        long parent = head;
        if (store.partition(lineage).isEmpty()) {
            store.createPartition(new PartitionRecord(lineage, PartitionRecord.BACKEND_SLOS, "full", 0, 0, System.currentTimeMillis()));
        }
        FsTree t = committed;
        EpochInfo info;
        long t0 = System.nanoTime();
        long tPages;
        long tCommit;
        try (EpochWriter w = store.beginEpoch(lineage, parent)) {
            for (Map.Entry<Long, InodeRecord> e : l.inodes.entrySet()) {
                long ino = e.getKey();
                InodeRecord r = e.getValue();
                if (r == null) {
                    InodeRecord old = t.inodes.remove(ino);
                    t.dirs.remove(ino);
                    if (old != null && old.isRegular()) {
                        w.deleteObject(ino);
                    }
                } else {
                    t.inodes.put(ino, r);
                    if (r.isDir()) {
                        t.dirs.computeIfAbsent(ino, k -> new HashMap<>());
                    }
                }
            }
            for (Map.Entry<Layer.Dentry, Long> e : l.dentries.entrySet()) {
                HashMap<String, Long> dir = t.dirs.get(e.getKey().dir());
                if (dir == null) {
                    continue;
                }
                if (e.getValue() == null) {
                    dir.remove(e.getKey().name());
                } else {
                    dir.put(e.getKey().name(), e.getValue());
                }
            }
            for (Map.Entry<Long, PageLayer> e : l.pages.entrySet()) {
                long ino = e.getKey();
                if (!t.inodes.containsKey(ino)) {
                    continue;
                }
                PageLayer pl = e.getValue();
                if (pl.hideFrom != Long.MAX_VALUE) {
                    w.truncate(ino, pl.hideFrom);
                }
                long[] idx = new long[pl.pages.size()];
                int i = 0;
                for (Long k : pl.pages.keySet()) {
                    idx[i++] = k;
                }
                Arrays.sort(idx);
                for (long k : idx) {
                    w.writePage(ino, k, ByteBuffer.wrap(pl.pages.get(k)));
                }
            }
            tPages = System.nanoTime();
            w.putBlob(FsTree.BLOB, t.encode());
            info = w.commit();
            tCommit = System.nanoTime();
        } catch (RuntimeException e) {
            // the in-place changes to the committed tree did not become durable: go back to the head's
            committed = parent == 0 ? FsTree.empty(t.rootIno, nowNs()) : loadTree(parent);
            throw e;
        }
        gate.writeLock().lock();
        try {
            Layer first = pending.pollFirst();
            if (first != l) {
                throw new IllegalStateException("partition " + partition + ": committed layer " + l.seq + " was not the oldest pending");
            }
            head = info.epoch();
            base = store.reader(lineage, head);
            l.epoch = head;
            pendingBytes.addAndGet(-l.bytes);
            if (l.snapshot) {
                // a checkpoint names this epoch once its own epoch commits: until then only the pin keeps it
                softPins.put(head, System.currentTimeMillis() + SOFT_PIN_MILLIS);
            }
        } finally {
            gate.writeLock().unlock();
        }
        if (++commitsSinceGc >= GC_EVERY_COMMITS || System.currentTimeMillis() - lastGcMillis > GC_EVERY_MILLIS) {
            gc();
        }
        if (log.isDebugEnabled()) {
            log.debug("slfs: partition {} slfs epoch {} (parent {}): {} inodes, {} files with pages, {} bytes; pages {} ms, commit {} ms, gc {} ms",
                    partition, head, parent, l.inodes.size(), l.pages.size(), l.bytes, (tPages - t0) / 1_000_000,
                    (tCommit - tPages) / 1_000_000, (System.nanoTime() - tCommit) / 1_000_000);
        }
    }

    /** The lineage epoch named by checkpoint epoch {@code epoch} of the partition, or -1. */
    long lineageEpochOf(long epoch) {
        Long v = refCache.get(epoch);
        if (v != null) {
            return v;
        }
        long s;
        try {
            SnapshotRef ref = JSON.readValue(store.readBlob(partition, epoch, REF_BLOB), SnapshotRef.class);
            s = ref.epoch();
        } catch (StoreException e) {
            if (e.kind() != StoreException.Kind.NOT_FOUND) {
                throw e;
            }
            s = -1;
        } catch (IOException e) {
            throw new StoreException(StoreException.Kind.CORRUPT, "partition " + partition + " epoch " + epoch + ": blob " + REF_BLOB
                    + " does not decode: " + e.getMessage(), e);
        }
        refCache.put(epoch, s);
        return s;
    }

    static byte[] refBlob(String lineage, long epoch) {
        try {
            return JSON.writeValueAsBytes(new SnapshotRef(1, lineage, epoch));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Collects old lineage epochs if commits happened since the last collection (write-back thread). */
    void collect() {
        commitLock.lock();
        try {
            if (commitsSinceGc > 0) {
                gc();
            }
        } finally {
            commitLock.unlock();
        }
    }

    /**
     * Deletes lineage epochs nobody needs: not the head, not named by a checkpoint (commit lock
     * held). Newest first, so each one folds into a child that is kept or about to go.
     */
    private void gc() {
        commitsSinceGc = 0;
        lastGcMillis = System.currentTimeMillis();
        try {
            if (store.partition(partition).isEmpty()) {
                return;
            }
            Set<Long> keep = new HashSet<>();
            keep.add(head);
            long now = System.currentTimeMillis();
            softPins.values().removeIf(t -> t < now);
            keep.addAll(softPins.keySet());
            Set<Long> partEpochs = new HashSet<>();
            for (EpochInfo e : store.epochs(partition)) {
                partEpochs.add(e.epoch());
                long s = lineageEpochOf(e.epoch());
                if (s > 0) {
                    keep.add(s);
                }
            }
            refCache.keySet().retainAll(partEpochs);
            List<EpochInfo> eps = new ArrayList<>(store.epochs(lineage));
            for (int i = eps.size() - 1; i >= 0; i--) {
                long le = eps.get(i).epoch();
                if (!keep.contains(le)) {
                    store.deleteEpoch(lineage, le);
                }
            }
        } catch (StoreException e) {
            log.warn("slfs: partition {}: cleaning old slfs epochs failed: {}", partition, e.getMessage());
        }
    }

    /** The snapshot handle of the current state (called while the partition's processes are frozen). */
    FsSnapshot snapshot() {
        gate.writeLock().lock();
        try {
            Layer l = freezeLocked(false);
            if (l == null) {
                // nothing above the head: the head is the snapshot; keep it from the collector
                softPins.put(head, System.currentTimeMillis() + SOFT_PIN_MILLIS);
            } else {
                // the layer may be committed by a write-back or an fsync before the checkpoint commits it
                l.snapshot = true;
            }
            return new FsSnapshot(this, l, l == null ? head : 0);
        } finally {
            gate.writeLock().unlock();
        }
    }

    /** Called by {@link FsSnapshot#writeTo}: the lineage epoch holding the frozen state, committed. */
    long commitSnapshot(Layer l, long knownEpoch, long checkpointEpoch) {
        if (l == null) {
            commitLock.lock();
            try {
                softPins.put(knownEpoch, System.currentTimeMillis() + SOFT_PIN_MILLIS);
                if (!store.epochs(lineage).stream().anyMatch(e -> e.epoch() == knownEpoch)) {
                    throw new StoreException(StoreException.Kind.NOT_FOUND, "partition " + partition + ": slfs epoch " + knownEpoch
                            + " of the snapshot is gone");
                }
                refCache.put(checkpointEpoch, knownEpoch);
                return knownEpoch;
            } finally {
                commitLock.unlock();
            }
        }
        long s = commitUpTo(l);
        refCache.put(checkpointEpoch, s);
        return s;
    }

    /**
     * Rolls the live tree back to what checkpoint epoch {@code epoch} of the partition recorded,
     * and commits that as the new head. Returns the lineage epoch, or -1 when the checkpoint holds
     * no files (then nothing changes).
     */
    long rollback(long epoch) {
        long s = lineageEpochOf(epoch);
        if (s <= 0) {
            boolean noFiles;
            commitLock.lock();
            try {
                noFiles = committed.inodes.size() <= 1; // its root directory alone
            } finally {
                commitLock.unlock();
            }
            if (noFiles) {
                // the partition has no files in slfs (slsd may run without a mount): nothing to say
                log.debug("slfs: partition {} has no files in slfs: epoch {} restores without any", partition, epoch);
            } else {
                log.warn("slfs: partition {} epoch {} holds no slfs files reference ({}): files left as they are", partition,
                        epoch, REF_BLOB);
            }
            return -1;
        }
        commitLock.lock();
        try {
            FsTree t = loadTree(s);
            Layer l;
            gate.writeLock().lock();
            try {
                for (Layer p : pending) {
                    p.dropped = true;
                }
                pending.clear();
                pendingBytes.set(0);
                dataDirty.clear();
                metaDirty.clear();
                dentryDirty.clear();
                dirtyBytes.set(0);
                generation++;
                install(t);
                head = s;
                base = store.reader(lineage, s);
                committed = t.copy();
                // a new head on top of s makes the rollback durable and the later epochs a side branch
                l = freezeLocked(true);
            } finally {
                gate.writeLock().unlock();
            }
            commitLayer(l);
            log.info("slfs: partition {} files rolled back to epoch {} (slfs epoch {}), new slfs head {}", partition, epoch, s, head);
            return s;
        } finally {
            commitLock.unlock();
        }
    }

    /** Drops the in-memory soft pin of a snapshot whose checkpoint was abandoned. */
    void unpin(long slfsEpoch) {
        softPins.remove(slfsEpoch);
    }
}
