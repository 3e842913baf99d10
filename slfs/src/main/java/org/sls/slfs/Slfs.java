package org.sls.slfs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.sls.slos.PartitionRecord;
import org.sls.slos.Slos;
import org.sls.slos.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * slfs: a FUSE file system whose files live in slos and are checkpointed with their partition.
 *
 * <p>{@code /MOUNT/PART/} exists for every partition of the store and holds its live files
 * ({@link PartitionFs} explains where they live: a hidden slos partition {@code .slfs.PART} whose
 * epochs are states of the tree, plus an in-memory layer of recent changes). {@code fsync},
 * {@code fdatasync} and {@code fsyncdir} make every change of the partition durable before they
 * return; changes are also written back every {@value #WRITEBACK_SECONDS} s and whenever more than
 * 64 MiB are dirty in a partition, and on {@link #close()}. {@code /MOUNT/.snapshots/PART/EPOCH/}
 * shows a checkpoint read-only: {@code files/}, {@code manifest.json}, {@code PID/} (from
 * {@link SnapshotContent}).
 *
 * <p>A checkpoint of PART calls {@link #snapshot} while PART's processes are frozen (it only
 * swaps the dirty state into a frozen layer, O(changed files)), then
 * {@link FsSnapshot#writeTo} with PART's epoch writer after they resume. A restore calls
 * {@link #rollback}. The same works with no mount at all.
 *
 * <p>Thread-safe.
 */
public final class Slfs implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Slfs.class);
    static final int WRITEBACK_SECONDS = 5;
    private static final int CONTENT_CACHE = 32;
    private static final int TREE_CACHE = 8;
    /** libfuse2 options: see docs/slfs.md for why each is there. */
    static final String MOUNT_OPTIONS = "big_writes,max_write=131072,max_read=131072,use_ino,default_permissions,"
            + "allow_other,entry_timeout=0,attr_timeout=0,negative_timeout=0,fsname=slfs,subtype=slfs";

    private final Slos store;
    private final SnapshotContent content;
    private final Map<String, PartitionFs> trees = new ConcurrentHashMap<>();
    private final Map<String, byte[]> contentCache = lru(CONTENT_CACHE);
    private final Map<String, SnapshotTree> treeCache = lru(TREE_CACHE);
    private final ScheduledExecutorService writeback;
    private final java.util.concurrent.ExecutorService flusher;
    private final long createdNs = PartitionFs.nowNs();
    private FuseOps fuse;
    private Path mountpoint;
    private volatile boolean closed;

    /** Serves the store's partitions; {@code content} may be null (snapshot dirs then hold files/ only). */
    public Slfs(Slos store, SnapshotContent content) {
        this.store = store;
        this.content = content == null ? SnapshotContent.NONE : content;
        this.writeback = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "slfs-writeback");
            t.setDaemon(true);
            return t;
        });
        this.flusher = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "slfs-flush");
            t.setDaemon(true);
            return t;
        });
        writeback.scheduleWithFixedDelay(this::writeBack, WRITEBACK_SECONDS, WRITEBACK_SECONDS, TimeUnit.SECONDS);
    }

    private static <K, V> Map<K, V> lru(int max) {
        return java.util.Collections.synchronizedMap(new LinkedHashMap<K, V>(16, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<K, V> e) {
                return size() > max;
            }
        });
    }

    /** True for the hidden slos partitions that hold slfs's own epochs ({@code .slfs.PART}): list them nowhere. */
    public static boolean isInternalPartition(String name) {
        return PartitionFs.isLineage(name);
    }

    /** The slos partition that holds PART's files. */
    public static String filesPartition(String partition) {
        return PartitionFs.LINEAGE_PREFIX + partition;
    }

    // ---- mount --------------------------------------------------------------------------------

    /**
     * Mounts at {@code mountpoint} (created if missing) and returns once the mount is visible. A
     * stale mount at the same place (left by a killed slsd) is lazily unmounted first.
     */
    public synchronized void mount(Path mountpoint) {
        if (fuse != null) {
            throw new IllegalStateException("slfs is already mounted at " + this.mountpoint);
        }
        Path abs = mountpoint.toAbsolutePath().normalize();
        if (Mounts.isMounted(abs)) {
            log.warn("slfs: {} is still mounted (stale mount of a previous slsd?): unmounting it", abs);
            Mounts.unmountLazy(abs);
        }
        try {
            Files.createDirectories(abs);
        } catch (IOException e) {
            throw new UncheckedIOException("slfs: cannot create mount point " + abs, e);
        }
        FuseOps ops = new FuseOps(this);
        ops.mount(abs, false, false, new String[] {"-o", MOUNT_OPTIONS});
        if (!Mounts.waitMounted(abs, 10_000)) {
            Mounts.unmountLazy(abs);
            throw new IllegalStateException("slfs: mount at " + abs + " did not appear within 10 s");
        }
        this.fuse = ops;
        this.mountpoint = abs;
        log.info("slfs: mounted at {}", abs);
    }

    /** The mount point, or null when not mounted. */
    public synchronized Path mountpoint() {
        return mountpoint;
    }

    /** Unmounts (lazily if busy); idempotent. Data stays in memory until written back or closed. */
    public synchronized void unmount() {
        if (fuse == null) {
            return;
        }
        Path abs = mountpoint;
        try {
            fuse.umount();
        } catch (RuntimeException e) {
            log.warn("slfs: unmount of {} failed: {}", abs, e.getMessage());
        }
        if (!Mounts.waitUnmounted(abs, 5_000)) {
            Mounts.unmountLazy(abs);
        }
        fuse = null;
        mountpoint = null;
        log.info("slfs: unmounted {}", abs);
    }

    // ---- checkpoint and restore -----------------------------------------------------------------

    /**
     * Freezes PART's files as they are now (call while PART's processes are frozen): waits for the
     * file operations in flight, moves the dirty state into a frozen layer, returns. The caller
     * then calls {@link FsSnapshot#writeTo} with the checkpoint's epoch writer (after unfreezing)
     * or {@link FsSnapshot#abandon}.
     */
    public FsSnapshot snapshot(String partition) {
        return fs(partition).snapshot();
    }

    /**
     * Rolls PART's files back to what checkpoint epoch {@code epoch} of PART recorded; that state
     * becomes current and durable, later epochs stay restorable. Files opened before are stale
     * afterwards (ESTALE). An epoch with no files reference (taken without slfs) leaves the files
     * as they are (a warning when the partition has files; none when it has none).
     */
    public void rollback(String partition, long epoch) {
        fs(partition).rollback(epoch);
    }

    /** Makes every change of PART durable (like fsync on all its files). */
    public void sync(String partition) {
        fs(partition).sync();
    }

    /**
     * Forgets PART's files: deletes its hidden slos partition. Call after deleting the partition
     * itself; a partition created later under the same name starts empty.
     */
    public void deletePartition(String partition) {
        trees.remove(partition);
        synchronized (treeCache) {
            treeCache.keySet().removeIf(k -> k.startsWith(partition + "/"));
        }
        String lineage = filesPartition(partition);
        if (store.partition(lineage).isPresent()) {
            store.deletePartition(lineage);
        }
    }

    // ---- for FuseOps --------------------------------------------------------------------------

    Slos store() {
        return store;
    }

    SnapshotContent content() {
        return content;
    }

    long mountedAtNs() {
        return createdNs;
    }

    boolean isPartition(String name) {
        return !isInternalPartition(name) && store.partition(name).isPresent();
    }

    List<String> partitionNames() {
        List<String> out = new ArrayList<>();
        for (PartitionRecord r : store.partitions()) {
            if (!isInternalPartition(r.name())) {
                out.add(r.name());
            }
        }
        return out;
    }

    boolean hasEpoch(String partition, long epoch) {
        return store.epochs(partition).stream().anyMatch(e -> e.epoch() == epoch);
    }

    PartitionFs fs(String partition) {
        if (closed) {
            throw new IllegalStateException("slfs is closed");
        }
        if (!isPartition(partition)) {
            throw new StoreException(StoreException.Kind.NOT_FOUND, "slfs: no partition " + partition);
        }
        return trees.computeIfAbsent(partition, p -> new PartitionFs(store, p, flusher));
    }

    long dirtyBytes() {
        long n = 0;
        for (PartitionFs f : trees.values()) {
            n += f.dirtyBytes();
        }
        return n;
    }

    SnapshotTree snapshotTree(String partition, long epoch) {
        String key = partition + "/" + epoch;
        SnapshotTree t = treeCache.get(key);
        if (t != null) {
            return t;
        }
        PartitionFs f = fs(partition);
        long s = f.lineageEpochOf(epoch);
        String where = "partition " + partition + " snapshot " + epoch + " files";
        if (s <= 0) {
            t = new SnapshotTree(where, FsTree.empty(1, createdNs), null);
        } else {
            FsTree tree = FsTree.decode(store.readBlob(f.lineage, s, FsTree.BLOB), where);
            PartitionFs.dropFuseHidden(tree);
            tree.inodes.values().removeIf(r -> r.nlink() <= 0 && !r.isDir());
            t = new SnapshotTree(where, tree, store.reader(f.lineage, s));
        }
        treeCache.put(key, t);
        return t;
    }

    byte[] contentBytes(String partition, long epoch, int pid, String name) {
        String key = partition + "/" + epoch + "/" + pid + "/" + name;
        byte[] b = contentCache.get(key);
        if (b == null) {
            b = name.equals("manifest.json") ? content.manifest(partition, epoch) : content.file(partition, epoch, pid, name);
            if (b == null) {
                return null;
            }
            contentCache.put(key, b);
        }
        return b;
    }

    private void writeBack() {
        for (PartitionFs f : trees.values()) {
            try {
                if (f.hasChanges()) {
                    f.sync();
                }
                f.collect();
            } catch (RuntimeException e) {
                log.warn("slfs: write-back of partition {} failed: {}", f.partition, e.getMessage());
            }
        }
    }

    /** Unmounts, then writes every partition's changes back. Does not close the store. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        unmount();
        writeback.shutdown();
        flusher.shutdown();
        try {
            writeback.awaitTermination(30, TimeUnit.SECONDS);
            flusher.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        writeBack();
        closed = true;
    }
}
