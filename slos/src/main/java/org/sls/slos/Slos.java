package org.sls.slos;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The single level store: format, open, partitions, epochs, objects, space and fsck. The data
 * lives on an image file, block device or pmem file ({@link SegmentIo}), the metadata in RocksDB
 * ({@code IMAGE.meta/} by default). Partitions with backend {@code memory} keep their epochs in a
 * second, in-memory engine with the same code (lost at close); their partition records persist.
 * Thread-safe.
 */
public final class Slos implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Slos.class);
    private static final long MEMORY_BACKEND_SIZE = 64L << 30;
    private static final long OBJECT_ID_BLOCK = 4096;

    private final String name;
    private final Path data;
    private final Path metaDir;
    private final Engine main;
    private final StoreLock lock;
    private final OpenOptions options;
    private final ObjectMapper json = new ObjectMapper();
    private final Map<String, PartitionRecord> partitions = new ConcurrentHashMap<>();
    private final Object objectIds = new Object();
    private final CleanerScheduler cleaner;
    private long nextObject;
    private long objectHighWater;
    private volatile Engine memory;

    private Slos(String name, Path data, Path metaDir, Engine main, StoreLock lock, OpenOptions options) {
        this.name = name;
        this.data = data;
        this.metaDir = metaDir;
        this.main = main;
        this.lock = lock;
        this.options = options;
        main.meta.scan(Keys.prefix(Keys.PARTITION), (k, v) -> {
            partitions.put(Keys.string1(k), readPartition(k, v));
            return true;
        });
        byte[] hw = main.meta.get(Keys.meta("objects"));
        nextObject = hw == null ? 1 : Records.decodeLong(hw);
        objectHighWater = nextObject;
        this.cleaner = options.backgroundCleaner() ? new CleanerScheduler(main, options.clock(), options.cleanerInterval()) : null;
        if (cleaner != null) {
            cleaner.start();
        }
    }

    // ---- format -------------------------------------------------------------------------------

    /**
     * Formats {@code data}, an image file (created sparse at {@code o.size()} when absent) or a
     * block device: both superblock copies and fresh metadata. Refuses to overwrite a store, or
     * a file or device holding data, unless {@code o.force()}.
     */
    public static FormatResult format(Path data, FormatOptions o) {
        String name = data.toString();
        boolean device = isBlockDevice(data);
        try {
            if (!Files.exists(data)) {
                if (o.size() <= 0) {
                    throw new StoreException(StoreException.Kind.INVALID, "store " + name + ": does not exist; give a size to create it");
                }
                checkGeometry(name, o.size(), o.segmentSize());
                try (FileChannel ch = FileChannel.open(data, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                    ch.truncate(0);
                    // Sparse: setting the length allocates nothing.
                    ch.write(ByteBuffer.allocate(1), o.size() - 1);
                }
            } else if (!device && !Files.isRegularFile(data)) {
                throw new StoreException(StoreException.Kind.INVALID, "store " + name + ": neither a regular file nor a block device");
            }
            long size = device ? deviceSize(data) : Files.size(data);
            refuseExisting(name, readHead(data, size), o.force());
            if (!device && o.size() > 0 && o.size() != size) {
                try (FileChannel ch = FileChannel.open(data, StandardOpenOption.WRITE)) {
                    if (o.size() < size) {
                        ch.truncate(o.size());
                    } else {
                        ch.write(ByteBuffer.allocate(1), o.size() - 1);
                    }
                }
                size = o.size();
            }
            checkGeometry(name, size, o.segmentSize());
            UUID uuid = UUID.randomUUID();
            Path meta = o.metaDir() != null ? o.metaDir() : defaultMetaDir(data, device, uuid);
            try (FileSegmentIo io = FileSegmentIo.open(data, size, false)) {
                return formatOn(name, data, io, meta.toAbsolutePath(), o, uuid);
            }
        } catch (IOException e) {
            throw new StoreException(StoreException.Kind.IO, "store " + name + ": format: " + e, e);
        }
    }

    /** Formats a store on any {@link SegmentIo} (tests, embedding) with metadata in {@code metaDir}. */
    public static FormatResult format(SegmentIo io, Path metaDir, FormatOptions o) {
        checkGeometry(io.describe(), io.size(), o.segmentSize());
        return formatOn(io.describe(), null, io, metaDir.toAbsolutePath(), o, UUID.randomUUID());
    }

    private static FormatResult formatOn(String name, Path data, SegmentIo io, Path meta, FormatOptions o, UUID uuid) {
        ByteBuffer head = ByteBuffer.allocate((int) Layout.DATA_OFFSET);
        io.read(0, head);
        head.flip();
        refuseExisting(name, head, o.force());
        prepareMetaDir(name, meta, o.force());
        try (MetaStore m = MetaStore.open(name, meta, true, false)) {
            m.putNow(Keys.meta("uuid"), uuid.toString().getBytes(StandardCharsets.UTF_8));
        }
        ByteBuffer zeros = io.allocate((int) Layout.DATA_OFFSET);
        io.write(0, zeros);
        Superblock sb = new Superblock(Layout.FORMAT_VERSION, uuid, Layout.BLOCK_SIZE, o.segmentSize(), io.size(),
                Layout.DATA_OFFSET, 0, 0, o.mode(), meta.toString());
        Engine.writeSuperblockCopy(io, sb);
        Engine.writeSuperblockCopy(io, sb.withEpoch(0, 1));
        io.sync();
        log.info("store {}: formatted, UUID {}, {} bytes, {} segments of {} bytes, metadata in {}", name, uuid, io.size(),
                sb.segments(), o.segmentSize(), meta);
        return new FormatResult(uuid, data, meta, io.size(), Layout.BLOCK_SIZE, o.segmentSize(), sb.segments(), o.mode());
    }

    private static void checkGeometry(String name, long size, int segmentSize) {
        if (segmentSize < Layout.MIN_SEGMENT_SIZE || segmentSize % Layout.BLOCK_SIZE != 0) {
            throw new StoreException(StoreException.Kind.INVALID, "store " + name + ": segment size " + segmentSize
                    + " must be a multiple of " + Layout.BLOCK_SIZE + " and at least " + Layout.MIN_SEGMENT_SIZE);
        }
        long segments = (size - Layout.DATA_OFFSET) / segmentSize;
        if (size < Layout.MIN_STORE_SIZE || segments < 2 + Layout.CLEANER_RESERVE_SEGMENTS) {
            throw new StoreException(StoreException.Kind.INVALID, "store " + name + ": " + size + " bytes is too small (at least "
                    + (Layout.DATA_OFFSET + (2L + Layout.CLEANER_RESERVE_SEGMENTS) * segmentSize) + " with segments of " + segmentSize + ")");
        }
    }

    private static ByteBuffer readHead(Path data, long size) throws IOException {
        ByteBuffer head = ByteBuffer.allocate((int) Math.min(size, Layout.DATA_OFFSET));
        try (FileChannel ch = FileChannel.open(data, StandardOpenOption.READ)) {
            while (head.hasRemaining() && ch.read(head, head.position()) > 0) {
                // read on
            }
        }
        head.flip();
        return head;
    }

    /** Says what {@code head} (the first MiB) holds unless it is empty, or force is given. */
    private static void refuseExisting(String name, ByteBuffer head, boolean force) {
        if (force) {
            return;
        }
        ByteBuffer full = ByteBuffer.allocate((int) Layout.DATA_OFFSET);
        full.put(head.duplicate());
        full.flip().limit(full.capacity());
        Superblock.Decoded[] copies = new Superblock.Decoded[Layout.SUPERBLOCK_OFFSETS.length];
        for (int i = 0; i < copies.length; i++) {
            ByteBuffer b = full.duplicate();
            b.position((int) Layout.SUPERBLOCK_OFFSETS[i]).limit((int) Layout.SUPERBLOCK_OFFSETS[i] + Layout.SUPERBLOCK_SIZE);
            copies[i] = Superblock.decode(b.slice());
        }
        for (Superblock.Decoded d : copies) {
            if (d.sb() != null) {
                throw new StoreException(StoreException.Kind.EXISTS, "store " + name + ": already holds an sls store (UUID "
                        + d.sb().uuid() + ", " + d.sb().size() + " bytes, last epoch " + d.sb().lastEpoch()
                        + ", metadata " + d.sb().metaLocation() + "); use force to overwrite it");
            }
            if (d.problem() == Superblock.Problem.VERSION) {
                throw new StoreException(StoreException.Kind.EXISTS, "store " + name + ": already holds an sls store of format version "
                        + d.foundVersion() + "; use force to overwrite it");
            }
        }
        for (int i = 0; i < full.limit(); i += 8) {
            if (full.getLong(i) != 0) {
                throw new StoreException(StoreException.Kind.EXISTS, "store " + name + ": holds data that is not an sls store (non-zero byte near offset "
                        + i + "); use force to overwrite it");
            }
        }
    }

    private static void prepareMetaDir(String name, Path meta, boolean force) {
        try {
            if (Files.isDirectory(meta)) {
                boolean empty;
                try (DirectoryStream<Path> ds = Files.newDirectoryStream(meta)) {
                    empty = !ds.iterator().hasNext();
                }
                if (!empty) {
                    if (!force) {
                        String what = Files.exists(meta.resolve("CURRENT")) ? "holds sls metadata" : "is not empty";
                        throw new StoreException(StoreException.Kind.EXISTS, "store " + name + ": metadata directory " + meta
                                + " already exists and " + what + "; use force to overwrite it");
                    }
                    // Refuse to pull the metadata from under a running store.
                    StoreLock l = StoreLock.acquire(name, meta);
                    try {
                        deleteTree(meta);
                    } finally {
                        l.close();
                    }
                }
            } else if (Files.exists(meta)) {
                throw new StoreException(StoreException.Kind.EXISTS, "store " + name + ": metadata path " + meta + " exists and is not a directory");
            }
            Files.createDirectories(meta);
        } catch (IOException e) {
            throw new StoreException(StoreException.Kind.IO, "store " + name + ": cannot prepare metadata directory " + meta + ": " + e, e);
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            List<Path> all = s.sorted(Comparator.reverseOrder()).toList();
            for (Path p : all) {
                if (!p.equals(dir)) {
                    Files.delete(p);
                }
            }
        }
    }

    static Path defaultMetaDir(Path data, boolean device, UUID uuid) {
        return device ? Path.of(Layout.DEVICE_META_ROOT, uuid.toString())
                : data.toAbsolutePath().resolveSibling(data.getFileName() + Layout.META_SUFFIX);
    }

    static boolean isBlockDevice(Path p) {
        try {
            int mode = (Integer) Files.getAttribute(p, "unix:mode");
            return (mode & 0170000) == 0060000;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return false;
        }
    }

    private static long deviceSize(Path dev) throws IOException {
        Path real = dev.toRealPath();
        Path sys = Path.of("/sys/class/block", real.getFileName().toString(), "size");
        return Long.parseLong(Files.readString(sys).trim()) * 512;
    }

    // ---- open ---------------------------------------------------------------------------------

    /** Opens the store on {@code data}; metadata from {@code metaDirOrNull} or where the superblock says. */
    public static Slos open(Path data, Path metaDirOrNull) {
        return open(data, metaDirOrNull, OpenOptions.defaults());
    }

    /** As {@link #open(Path, Path)} with options. */
    public static Slos open(Path data, Path metaDirOrNull, OpenOptions options) {
        String name = data.toString();
        if (!Files.exists(data)) {
            throw new StoreException(StoreException.Kind.NOT_FOUND, "store " + name + " does not exist");
        }
        boolean device = isBlockDevice(data);
        long size;
        Superblock sb;
        try {
            size = device ? deviceSize(data) : Files.size(data);
        } catch (IOException e) {
            throw new StoreException(StoreException.Kind.IO, "store " + name + ": " + e, e);
        }
        try (FileSegmentIo probe = FileSegmentIo.open(data, size, false)) {
            sb = Engine.chooseSuperblock(name, Engine.readSuperblocks(probe));
        }
        if (sb.size() > size) {
            throw new StoreException(StoreException.Kind.CORRUPT, "store " + name + ": superblock says " + sb.size()
                    + " bytes, the " + (device ? "device" : "file") + " has " + size);
        }
        Path meta = metaDirOrNull;
        if (meta == null) {
            Path recorded = Path.of(sb.metaLocation());
            meta = Files.isDirectory(recorded) ? recorded : defaultMetaDir(data, device, sb.uuid());
        }
        StoreLock lock = lockMeta(name, meta);
        MetaStore ms = null;
        SegmentIo io = null;
        try {
            ms = MetaStore.open(name, meta, false, false);
            checkUuid(name, sb, ms, meta);
            io = openIo(data, sb);
            Engine e = Engine.open(name, io, ms, sb, null, options.clock(), false);
            return new Slos(name, data, meta, e, lock, options);
        } catch (RuntimeException e) {
            if (io != null) {
                io.close();
            }
            if (ms != null) {
                ms.close();
            }
            lock.close();
            throw e;
        }
    }

    /** Opens a store on any {@link SegmentIo} (tests, embedding). The device is not closed with the store. */
    public static Slos open(SegmentIo io, Path metaDir, OpenOptions options) {
        String name = io.describe();
        Superblock sb = Engine.chooseSuperblock(name, Engine.readSuperblocks(io));
        StoreLock lock = lockMeta(name, metaDir);
        MetaStore ms = null;
        try {
            ms = MetaStore.open(name, metaDir, false, false);
            checkUuid(name, sb, ms, metaDir);
            Engine e = Engine.open(name, new UnclosedIo(io), ms, sb, null, options.clock(), false);
            return new Slos(name, null, metaDir, e, lock, options);
        } catch (RuntimeException e) {
            if (ms != null) {
                ms.close();
            }
            lock.close();
            throw e;
        }
    }

    private static StoreLock lockMeta(String name, Path meta) {
        if (!Files.isDirectory(meta)) {
            throw new StoreException(StoreException.Kind.NOT_FOUND, "store " + name + ": metadata directory " + meta + " not found");
        }
        return StoreLock.acquire(name, meta);
    }

    private static void checkUuid(String name, Superblock sb, MetaStore ms, Path meta) {
        byte[] u = ms.get(Keys.meta("uuid"));
        if (u == null) {
            throw new StoreException(StoreException.Kind.MISMATCH, "store " + name + ": metadata " + meta + " has no UUID (not sls metadata?)");
        }
        String metaUuid = new String(u, StandardCharsets.UTF_8);
        if (!metaUuid.equals(sb.uuid().toString())) {
            throw new StoreException(StoreException.Kind.MISMATCH, "store " + name + ": UUID " + sb.uuid() + " differs from its metadata "
                    + meta + " (" + metaUuid + ")");
        }
    }

    private static SegmentIo openIo(Path data, Superblock sb) {
        FormatOptions.Mode mode = sb.mode();
        boolean dax = mode == FormatOptions.Mode.AUTO && Dax.onDax(data);
        if (mode == FormatOptions.Mode.PMEM || dax) {
            return MappedSegmentIo.open(data, sb.size(), true);
        }
        return FileSegmentIo.open(data, sb.size(), true);
    }

    // ---- identity -----------------------------------------------------------------------------

    public UUID uuid() {
        return main.uuid();
    }

    /** The data file or device (null for a store opened on a {@link SegmentIo}). */
    public Path dataPath() {
        return data;
    }

    public Path metaDir() {
        return metaDir;
    }

    /** What the data is written through ("file /x.img (O_DIRECT)"). */
    public String ioDescription() {
        return main.io.describe();
    }

    Engine engine() {
        return main;
    }

    Engine memoryEngine() {
        return memory;
    }

    // ---- partitions ---------------------------------------------------------------------------

    private PartitionRecord readPartition(byte[] key, byte[] v) {
        try {
            return json.readValue(v, PartitionRecord.class);
        } catch (IOException e) {
            throw new StoreException(StoreException.Kind.CORRUPT, "store " + name + ": partition record " + Keys.describe(key)
                    + " does not decode: " + e.getMessage(), e);
        }
    }

    private void writePartition(PartitionRecord r) {
        try {
            main.meta.putNow(Keys.partition(r.name()), json.writeValueAsBytes(r));
        } catch (IOException e) {
            throw new StoreException(StoreException.Kind.IO, "store " + name + ": cannot encode partition " + r.name(), e);
        }
    }

    private static void validate(PartitionRecord r) {
        String n = r.name();
        if (n == null || n.isEmpty() || n.length() > 255 || n.equals(".") || n.equals("..") || n.contains("/")
                || n.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw new StoreException(StoreException.Kind.INVALID, "partition name '" + n
                    + "' is not valid (1-255 characters, no '/', no control characters, not . or ..)");
        }
        if (!PartitionRecord.BACKEND_SLOS.equals(r.backend()) && !PartitionRecord.BACKEND_MEMORY.equals(r.backend())) {
            throw new StoreException(StoreException.Kind.INVALID, "partition " + n + ": backend '" + r.backend() + "' is not slos or memory");
        }
        if (r.keep() < 0 || r.periodMs() < 0) {
            throw new StoreException(StoreException.Kind.INVALID, "partition " + n + ": keep and period must not be negative");
        }
    }

    /** Creates a partition; EXISTS when the name is taken. */
    public PartitionRecord createPartition(PartitionRecord r) {
        validate(r);
        synchronized (partitions) {
            if (partitions.containsKey(r.name())) {
                throw new StoreException(StoreException.Kind.EXISTS, "partition " + r.name() + " already exists in store " + name);
            }
            writePartition(r);
            partitions.put(r.name(), r);
        }
        return r;
    }

    public Optional<PartitionRecord> partition(String partitionName) {
        return Optional.ofNullable(partitions.get(partitionName));
    }

    /** All partitions, by name. */
    public List<PartitionRecord> partitions() {
        List<PartitionRecord> out = new ArrayList<>(partitions.values());
        out.sort(Comparator.comparing(PartitionRecord::name));
        return out;
    }

    /** Replaces a partition's settings; its backend cannot change while it has epochs. */
    public void updatePartition(PartitionRecord r) {
        validate(r);
        synchronized (partitions) {
            PartitionRecord old = require(r.name());
            if (!old.backend().equals(r.backend()) && !engineFor(old).epochs(r.name()).isEmpty()) {
                throw new StoreException(StoreException.Kind.INVALID, "partition " + r.name() + ": cannot change backend from "
                        + old.backend() + " to " + r.backend() + " while it has epochs");
            }
            writePartition(r);
            partitions.put(r.name(), r);
        }
    }

    /** Deletes a partition and all its epochs. */
    public void deletePartition(String partitionName) {
        synchronized (partitions) {
            PartitionRecord r = require(partitionName);
            Engine e = engineFor(r);
            List<EpochInfo> eps = new ArrayList<>(e.epochs(partitionName));
            // Newest first: a child always has a higher number than its parent, so each is a leaf.
            eps.sort(Comparator.comparingLong(EpochInfo::epoch).reversed());
            for (EpochInfo ei : eps) {
                e.deleteEpoch(partitionName, ei.epoch());
            }
            try (org.rocksdb.WriteBatch b = new org.rocksdb.WriteBatch()) {
                main.meta.delete(b, Keys.partition(partitionName));
                main.meta.write(b);
            }
            partitions.remove(partitionName);
        }
    }

    private PartitionRecord require(String partitionName) {
        PartitionRecord r = partitions.get(partitionName);
        if (r == null) {
            throw new StoreException(StoreException.Kind.NOT_FOUND, "partition " + partitionName + " does not exist in store " + name);
        }
        return r;
    }

    private Engine engineFor(PartitionRecord r) {
        if (!r.inMemory()) {
            return main;
        }
        Engine m = memory;
        if (m == null) {
            synchronized (this) {
                if (memory == null) {
                    memory = createMemoryEngine();
                }
                m = memory;
            }
        }
        return m;
    }

    private Engine createMemoryEngine() {
        main.checkOpen();
        String mname = name + " (memory backend)";
        MemorySegmentIo io = new MemorySegmentIo(mname, MEMORY_BACKEND_SIZE, false);
        Path dir = Path.of("/slos-memory", uuid().toString());
        MetaStore ms = MetaStore.open(mname, dir, true, true);
        UUID u = UUID.randomUUID();
        ms.putNow(Keys.meta("uuid"), u.toString().getBytes(StandardCharsets.UTF_8));
        Superblock sb = new Superblock(Layout.FORMAT_VERSION, u, Layout.BLOCK_SIZE, Layout.DEFAULT_SEGMENT_SIZE, io.size(),
                Layout.DATA_OFFSET, 0, 0, FormatOptions.Mode.BLOCK, "memory");
        Engine.writeSuperblockCopy(io, sb);
        log.info("store {}: memory backend started; its epochs are lost when the store closes", name);
        return Engine.open(mname, io, ms, sb, main.nextEpoch, options.clock(), true);
    }

    private Engine engineFor(String partitionName) {
        return engineFor(require(partitionName));
    }

    // ---- data path ----------------------------------------------------------------------------

    /** A new object id, unique in this store for ever. */
    public long newObjectId() {
        synchronized (objectIds) {
            if (nextObject >= objectHighWater) {
                objectHighWater = nextObject + OBJECT_ID_BLOCK;
                main.meta.putNow(Keys.meta("objects"), Records.encodeLong(objectHighWater));
            }
            return nextObject++;
        }
    }

    /**
     * Starts a new epoch of {@code partition} on top of {@code parentEpoch} (0 = none; else a
     * committed epoch of the same partition). After commit, the partition's {@code keep} setting
     * prunes its oldest epochs.
     */
    public EpochWriter beginEpoch(String partitionName, long parentEpoch) {
        return beginEpoch(partitionName, parentEpoch, true);
    }

    /**
     * As {@link #beginEpoch(String, long)}; without {@code pruneOnCommit} the commit returns as soon
     * as the epoch is durable, and the caller prunes when it suits it ({@link #pruneKept}): a
     * daemon tells the epoch's waiters first, for whom pruning is no part of durability.
     */
    public EpochWriter beginEpoch(String partitionName, long parentEpoch, boolean pruneOnCommit) {
        PartitionRecord r = require(partitionName);
        EpochWriter w = engineFor(r).begin(partitionName, parentEpoch);
        return pruneOnCommit ? new PruningWriter(w, partitionName) : w;
    }

    /**
     * Prunes the partition down to its {@code keep} setting (none without one); returns the epochs
     * deleted. A failure is logged, not thrown: the epochs that stay are deleted by a later prune.
     */
    public List<Long> pruneKept(String partitionName) {
        PartitionRecord r = partitions.get(partitionName);
        if (r == null || r.keep() <= 0) {
            return List.of();
        }
        try {
            return prune(partitionName, r.keep());
        } catch (StoreException e) {
            log.warn("store {}: pruning partition {} failed: {}", name, partitionName, e.getMessage());
            return List.of();
        }
    }

    /** Committed epochs of the partition, ascending. */
    public List<EpochInfo> epochs(String partitionName) {
        return engineFor(partitionName).epochs(partitionName);
    }

    public OptionalLong lastEpoch(String partitionName) {
        List<EpochInfo> e = epochs(partitionName);
        return e.isEmpty() ? OptionalLong.empty() : OptionalLong.of(e.get(e.size() - 1).epoch());
    }

    /** Reads objects as of {@code epoch} through its ancestry. */
    public ObjectReader reader(String partitionName, long epoch) {
        return engineFor(partitionName).reader(partitionName, epoch);
    }

    /** A blob stored with the epoch (for instance "manifest.json"); NOT_FOUND when absent. */
    public byte[] readBlob(String partitionName, long epoch, String blobName) {
        return engineFor(partitionName).readBlob(partitionName, epoch, blobName);
    }

    /** Deletes one epoch; what its descendants see through it is kept (folded into them). */
    public void deleteEpoch(String partitionName, long epoch) {
        engineFor(partitionName).deleteEpoch(partitionName, epoch);
    }

    /**
     * Deletes the oldest epochs of the partition so that at most {@code keep} remain (0 = keep
     * all); an epoch that a running writer builds on is kept. Returns the deleted epochs.
     */
    public List<Long> prune(String partitionName, int keep) {
        List<Long> deleted = new ArrayList<>();
        if (keep <= 0) {
            return deleted;
        }
        Engine e = engineFor(partitionName);
        List<EpochInfo> eps = e.epochs(partitionName);
        int excess = eps.size() - keep;
        for (int i = 0; i < eps.size() && excess > 0; i++) {
            long ep = eps.get(i).epoch();
            if (e.inflight.containsValue(ep)) {
                continue;
            }
            try {
                e.deleteEpoch(partitionName, ep);
                deleted.add(ep);
                excess--;
            } catch (StoreException ex) {
                if (ex.kind() != StoreException.Kind.INVALID) {
                    throw ex;
                }
                log.debug("store {}: prune of partition {} keeps epoch {}: {}", name, partitionName, ep, ex.getMessage());
            }
        }
        return deleted;
    }

    /** Space of the disk store. */
    public StoreUsage usage() {
        return main.usage();
    }

    /**
     * Flushes and compacts the metadata (RocksDB), then returns its size in bytes: for
     * benchmarks and for measuring metadata per stored page.
     */
    public long compactMetadata() {
        main.meta.compact();
        return main.meta.sizeBytes();
    }

    /** Runs one cleaner pass now (whatever the policy says); returns what it did. */
    public CleanerReport clean() {
        Cleaner.Report r = new Cleaner(main).clean(Cleaner.Selection.sparse());
        return new CleanerReport(r.victims(), r.pagesMoved(), r.segmentsFreed());
    }

    /** Checks the disk store; with {@code repair}, fixes what can be derived again. */
    public FsckReport fsck(boolean repair) {
        return new Fsck(main).run(repair);
    }

    @Override
    public void close() {
        if (cleaner != null) {
            cleaner.stop();
        }
        Engine m = memory;
        if (m != null) {
            m.close();
        }
        main.close();
        lock.close();
    }

    /** Commits, then prunes per the partition's keep setting. Not thread-safe (as any writer). */
    private final class PruningWriter implements EpochWriter {
        private final EpochWriter w;
        private final String partitionName;

        PruningWriter(EpochWriter w, String partitionName) {
            this.w = w;
            this.partitionName = partitionName;
        }

        @Override
        public long epoch() {
            return w.epoch();
        }

        @Override
        public void writePage(long objectId, long pageIndex, ByteBuffer page4k) {
            w.writePage(objectId, pageIndex, page4k);
        }

        @Override
        public void writeHole(long objectId, long pageIndex) {
            w.writeHole(objectId, pageIndex);
        }

        @Override
        public void truncate(long objectId, long pages) {
            w.truncate(objectId, pages);
        }

        @Override
        public void deleteObject(long objectId) {
            w.deleteObject(objectId);
        }

        @Override
        public void putBlob(String blobName, byte[] blob) {
            w.putBlob(blobName, blob);
        }

        @Override
        public EpochInfo commit() {
            EpochInfo info = w.commit();
            pruneKept(partitionName);
            return info;
        }

        @Override
        public void close() {
            w.close();
        }
    }

    /** Keeps a caller's device open when the store closes (they reopen it in crash tests). */
    private record UnclosedIo(SegmentIo io) implements SegmentIo {
        @Override public long size() { return io.size(); }
        @Override public int alignment() { return io.alignment(); }
        @Override public boolean memoryCopy() { return io.memoryCopy(); }
        @Override public ByteBuffer allocate(int bytes) { return io.allocate(bytes); }
        @Override public void write(long offset, ByteBuffer src) { io.write(offset, src); }
        @Override public void sync() { io.sync(); }
        @Override public void sync(long offset, long length) { io.sync(offset, length); }
        @Override public void read(long offset, ByteBuffer dst) { io.read(offset, dst); }
        @Override public String describe() { return io.describe(); }
        @Override public void close() { }
    }
}
