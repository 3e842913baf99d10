package org.sls.slos;

import java.nio.ByteBuffer;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.rocksdb.WriteBatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One store instance: a {@link SegmentIo} with its superblock and segments, and the
 * {@link MetaStore} describing them; epochs, readers, deletion, cleaning and fsck work on it.
 * {@link Slos} owns one for the disk store and, when a memory-backend partition is used, a second
 * one entirely in memory (the same code, on {@link MemorySegmentIo} and RocksDB's memory env).
 * Thread-safe: commits, deletions and cleaner passes serialize on {@link #commitLock}; freeing a
 * segment takes the write side of {@link #lifecycle}, reads the read side.
 */
final class Engine implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Engine.class);

    final String name;
    final SegmentIo io;
    final MetaStore meta;
    final SegmentTable segs;
    final EpochTable epochs = new EpochTable();
    final ReentrantLock commitLock = new ReentrantLock();
    /** One cleaner pass at a time. */
    final ReentrantLock cleanerLock = new ReentrantLock();
    final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    /** Bumped whenever page locations move or epochs disappear: readers drop their caches. */
    final AtomicLong generation = new AtomicLong();
    final AtomicLong nextEpoch;
    /** Epochs being written: epoch to parent. A parent being written on cannot be deleted. */
    final Map<Long, Long> inflight = new ConcurrentHashMap<>();
    final Clock clock;
    final boolean inMemory;
    volatile StepHook hook = StepHook.NONE;
    private volatile Superblock sb;
    private volatile boolean closed;

    private Engine(String name, SegmentIo io, MetaStore meta, Superblock sb, AtomicLong sharedEpochs, Clock clock, boolean inMemory) {
        this.name = name;
        this.io = io;
        this.meta = meta;
        this.sb = sb;
        this.clock = clock;
        this.inMemory = inMemory;
        this.segs = new SegmentTable(name, sb.dataOffset(), sb.segmentSize(), sb.segments());
        migrateLegacyExtents();
        load();
        long hw = 0;
        byte[] v = meta.get(Keys.meta("epochs"));
        if (v != null) {
            hw = Records.decodeLong(v);
        }
        long first = Math.max(hw, epochs.max()) + 1;
        if (sharedEpochs != null) {
            sharedEpochs.accumulateAndGet(first, Math::max);
            this.nextEpoch = sharedEpochs;
        } else {
            this.nextEpoch = new AtomicLong(first);
        }
    }

    /**
     * Rewrites the extents of a format version 1 store, keyed 'X' (object, page, epoch), as 'L'
     * (object, layer, page) with layer = epoch, in one synced batch: a crash leaves either all
     * of them old (migrated again at the next open) or all new. Records failing their CRC32C
     * are left as they are, for fsck to report.
     */
    private void migrateLegacyExtents() {
        long[] n = {0};
        try (WriteBatch b = new WriteBatch()) {
            meta.scanRaw(Keys.prefix(Keys.LEGACY_EXTENT), (k, raw) -> {
                if (!MetaStore.frameOk(k, raw)) {
                    log.error("store {}: {} fails its CRC32C check; left unmigrated", name, Keys.describe(k));
                    return true;
                }
                meta.put(b, Keys.extent(Keys.long1(k), Keys.long3(k), Keys.long2(k)), java.util.Arrays.copyOf(raw, raw.length - 4));
                meta.delete(b, k);
                n[0]++;
                return true;
            });
            if (n[0] > 0) {
                meta.write(b);
                log.info("store {}: {} extent records of format version 1 rewritten for version {}", name, n[0], Layout.FORMAT_VERSION);
            }
        }
    }

    /** Builds the in-memory tables from the metadata. */
    private void load() {
        meta.scan(Keys.prefix(Keys.EPOCH), (k, v) -> {
            epochs.put(Keys.long1(k), Records.Epoch.decode(Keys.long1(k), v));
            return true;
        });
        meta.scan(Keys.prefix(Keys.SEGMENT), (k, v) -> {
            long seg = Keys.long1(k);
            if (seg < segs.count()) {
                Records.Segment s = Records.Segment.decode(v);
                segs.load((int) seg, s.live(), s.used());
            }
            return true;
        });
    }

    /** Opens an engine on a device and metadata that belong together (checked by the caller). */
    static Engine open(String name, SegmentIo io, MetaStore meta, Superblock sb, AtomicLong sharedEpochs, Clock clock, boolean inMemory) {
        Engine e = new Engine(name, io, meta, sb, sharedEpochs, clock, inMemory);
        e.reconcileSuperblock();
        return e;
    }

    /** After a crash between the metadata commit and the superblock write, the superblock lags: fix it. */
    private void reconcileSuperblock() {
        long last = epochs.max();
        if (sb.version() != Layout.FORMAT_VERSION) {
            log.info("store {}: superblock of format version {} rewritten as version {}", name, sb.version(), Layout.FORMAT_VERSION);
            writeSuperblock(last);
            writeSuperblock(last);
        } else if (sb.lastEpoch() != last) {
            log.info("store {}: superblock says last epoch {}, metadata {}; rewriting the superblock", name, sb.lastEpoch(), last);
            writeSuperblock(last);
        }
    }

    Superblock superblock() {
        return sb;
    }

    UUID uuid() {
        return sb.uuid();
    }

    /** Writes the next superblock copy (alternating) with {@code lastEpoch}, durably. */
    synchronized void writeSuperblock(long lastEpoch) {
        Superblock next = sb.withEpoch(lastEpoch, sb.generation() + 1);
        writeSuperblockCopy(io, next);
        sb = next;
    }

    static void writeSuperblockCopy(SegmentIo io, Superblock s) {
        ByteBuffer b = io.allocate(Layout.SUPERBLOCK_SIZE);
        b.put(s.encode());
        b.flip();
        long off = Layout.SUPERBLOCK_OFFSETS[s.copyIndex()];
        io.write(off, b);
        io.sync(off, Layout.SUPERBLOCK_SIZE);
    }

    /** Both copies as decoded, for open and fsck. */
    static Superblock.Decoded[] readSuperblocks(SegmentIo io) {
        Superblock.Decoded[] out = new Superblock.Decoded[Layout.SUPERBLOCK_OFFSETS.length];
        for (int i = 0; i < out.length; i++) {
            ByteBuffer b = ByteBuffer.allocate(Layout.SUPERBLOCK_SIZE);
            if (io.size() < Layout.SUPERBLOCK_OFFSETS[i] + Layout.SUPERBLOCK_SIZE) {
                out[i] = new Superblock.Decoded(null, Superblock.Problem.NO_MAGIC, 0);
                continue;
            }
            io.read(Layout.SUPERBLOCK_OFFSETS[i], b);
            b.flip();
            out[i] = Superblock.decode(b);
        }
        return out;
    }

    /** The valid copy with the highest generation, or a StoreException saying why there is none. */
    static Superblock chooseSuperblock(String name, Superblock.Decoded[] copies) {
        Superblock best = null;
        int noMagic = 0;
        int version = 0;
        for (int i = 0; i < copies.length; i++) {
            Superblock.Decoded d = copies[i];
            switch (d.problem()) {
                case NONE -> {
                    if (best == null || d.sb().generation() > best.generation()) {
                        best = d.sb();
                    }
                }
                case NO_MAGIC -> noMagic++;
                case VERSION -> version = d.foundVersion();
                case CRC -> log.warn("store {}: superblock copy {} at offset {} fails its CRC32C", name, i, Layout.SUPERBLOCK_OFFSETS[i]);
            }
        }
        if (best != null) {
            if (copies[0].sb() != null && copies[1].sb() != null && !copies[0].sb().uuid().equals(copies[1].sb().uuid())) {
                throw new StoreException(StoreException.Kind.CORRUPT, "store " + name + ": its two superblock copies carry different UUIDs ("
                        + copies[0].sb().uuid() + ", " + copies[1].sb().uuid() + ")");
            }
            return best;
        }
        if (version != 0) {
            throw new StoreException(StoreException.Kind.MISMATCH, "store " + name + ": format version " + version
                    + ", this sls reads versions " + Layout.MIN_FORMAT_VERSION + " to " + Layout.FORMAT_VERSION);
        }
        if (noMagic == copies.length) {
            throw new StoreException(StoreException.Kind.NOT_FOUND, "store " + name + ": not an sls store (no superblock magic at offsets "
                    + Layout.SUPERBLOCK_OFFSETS[0] + " and " + Layout.SUPERBLOCK_OFFSETS[1] + ")");
        }
        throw new StoreException(StoreException.Kind.CORRUPT, "store " + name + ": both superblock copies are damaged (CRC32C mismatch)");
    }

    // ---- epochs -------------------------------------------------------------------------------

    EpochWriter begin(String partition, long parent) {
        checkOpen();
        if (parent != 0) {
            Records.Epoch p = epochs.get(parent);
            if (p == null) {
                throw new StoreException(StoreException.Kind.NOT_FOUND, "store " + name + ": parent epoch " + parent
                        + " of a new epoch of partition " + partition + " does not exist");
            }
            if (!p.partition().equals(partition)) {
                throw new StoreException(StoreException.Kind.INVALID, "store " + name + ": parent epoch " + parent
                        + " belongs to partition " + p.partition() + ", not " + partition);
            }
        }
        long epoch = nextEpoch.getAndIncrement();
        inflight.put(epoch, parent);
        return new SegmentEpochWriter(this, partition, epoch, parent);
    }

    Records.Epoch epochOf(String partition, long epoch) {
        Records.Epoch r = epochs.get(epoch);
        if (r == null || !r.partition().equals(partition)) {
            throw new StoreException(StoreException.Kind.NOT_FOUND, "store " + name + ": partition " + partition + " has no epoch " + epoch);
        }
        return r;
    }

    List<EpochInfo> epochs(String partition) {
        return epochs.of(partition);
    }

    ObjectReader reader(String partition, long epoch) {
        checkOpen();
        epochOf(partition, epoch);
        return new EpochReader(this, partition, epoch);
    }

    byte[] readBlob(String partition, long epoch, String blobName) {
        checkOpen();
        epochOf(partition, epoch);
        byte[] v = meta.get(Keys.blob(epoch, blobName));
        if (v == null) {
            throw new StoreException(StoreException.Kind.NOT_FOUND, "store " + name + ": epoch " + epoch + " of partition "
                    + partition + " has no blob '" + blobName + "'");
        }
        return v;
    }

    EpochDeletion.Direction deleteEpoch(String partition, long epoch) {
        checkOpen();
        return new EpochDeletion(this).delete(partition, epoch);
    }

    StoreUsage usage() {
        long segments = segs.count();
        long free = segs.freeCount();
        Superblock s = sb;
        return new StoreUsage(segments * s.segmentSize(), segs.totalLive() * Layout.BLOCK_SIZE, free * s.segmentSize(),
                segments, free, s.segmentSize(), meta.sizeBytes());
    }

    /** Frees nothing itself: commits the segment records of {@code seg} into {@code b}. */
    void putSegment(WriteBatch b, int seg, Records.Segment r) {
        meta.put(b, Keys.segment(seg), r.encode());
    }

    /**
     * Epoch writers' write buffers ({@link Layout#MAX_WRITE_SIZE} at most, aligned) handed back
     * after a commit or abort, for the next writer. A fresh direct buffer is zeroed page by page
     * (by the kernel, then by the JVM): for a checkpoint of a few hundred pages, allocating its
     * two 4 MiB buffers cost more CPU than writing the pages. At most {@link #SPARE_WRITE_BUFFERS}
     * are kept.
     */
    private final java.util.ArrayDeque<ByteBuffer> writeBuffers = new java.util.ArrayDeque<>();
    static final int SPARE_WRITE_BUFFERS = 4;

    /** A write buffer of {@code bytes} (contents undefined): a spare one if there is one. */
    ByteBuffer takeWriteBuffer(int bytes) {
        synchronized (writeBuffers) {
            for (java.util.Iterator<ByteBuffer> it = writeBuffers.iterator(); it.hasNext(); ) {
                ByteBuffer b = it.next();
                if (b.capacity() == bytes) {
                    it.remove();
                    return b.clear();
                }
            }
        }
        return io.allocate(bytes);
    }

    /** Takes back a write buffer no write is in flight from any more. */
    void giveWriteBuffer(ByteBuffer b) {
        synchronized (writeBuffers) {
            if (writeBuffers.size() < SPARE_WRITE_BUFFERS) {
                writeBuffers.push(b);
            }
        }
    }

    /** Threads that write an epoch's buffers while the writer fills the next one. */
    java.util.concurrent.Executor ioExecutor() {
        java.util.concurrent.ExecutorService e = ioPool;
        if (e == null) {
            synchronized (this) {
                if (ioPool == null) {
                    ioPool = java.util.concurrent.Executors.newCachedThreadPool(r -> {
                        Thread t = new Thread(r, "slos-io " + name);
                        t.setDaemon(true);
                        return t;
                    });
                }
                e = ioPool;
            }
        }
        return e;
    }

    private volatile java.util.concurrent.ExecutorService ioPool;

    /** Runs a cleaner pass because a writer found no free segment; returns segments freed. */
    int cleanForSpace() {
        return new Cleaner(this).clean(Cleaner.Selection.forSpace()).segmentsFreed();
    }

    void step(String protocol, int step) {
        hook.before(protocol, step);
    }

    void checkOpen() {
        if (closed) {
            throw new StoreException(StoreException.Kind.INVALID, "store " + name + " is closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (ioPool != null) {
            ioPool.shutdown();
        }
        meta.close();
        io.close();
    }
}
