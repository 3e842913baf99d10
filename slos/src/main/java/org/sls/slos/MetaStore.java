package org.sls.slos;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.rocksdb.CompressionType;
import org.rocksdb.Env;
import org.rocksdb.FlushOptions;
import org.rocksdb.InfoLogLevel;
import org.rocksdb.Options;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.RocksMemEnv;
import org.rocksdb.Slice;
import org.rocksdb.TablePropertiesCollectorFactory;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;
import org.rocksdb.util.Environment;

/**
 * The RocksDB side of a store. Every value is framed as {@code payload, CRC32C(key, payload)};
 * {@link #get} and {@link #scan} check the frame and throw {@link StoreException.Kind#CORRUPT}
 * naming the record. All writes go through a {@link WriteBatch} written with {@code sync=true}.
 * Thread-safe (RocksDB is).
 */
final class MetaStore implements AutoCloseable {
    /**
     * Where the distribution unpacked RocksDB's native library ({@code lib/native}, set by the
     * launchers). Without it RocksDB copies the library from its jar into {@code java.io.tmpdir}
     * at every start and deletes it at exit: 17 MB left behind each time a daemon is killed.
     * {@code RocksDB.loadLibrary(paths)} looks there for the file that
     * {@code Environment.getJniLibraryFileName("rocksdbjni")} names ({@code librocksdbjnijni-linux64.so}
     * on x86-64: the "jni" doubled), so the build unpacks the library under that name; when the
     * file is missing (another architecture, a RocksDB that fixed the name) the jar's way applies.
     */
    static final String NATIVE_DIR_PROPERTY = "sls.native.dir";

    static {
        String dir = System.getProperty(NATIVE_DIR_PROPERTY);
        if (dir != null && Files.isRegularFile(Path.of(dir, Environment.getJniLibraryFileName("rocksdbjni")))) {
            RocksDB.loadLibrary(List.of(dir));
        } else {
            RocksDB.loadLibrary();
        }
    }

    private final String name;
    private final RocksDB db;
    private final Options options;
    private final WriteOptions syncWrite;
    private final Env memEnv;
    private final TablePropertiesCollectorFactory onDeletion;

    private MetaStore(String name, RocksDB db, Options options, Env memEnv, TablePropertiesCollectorFactory onDeletion) {
        this.name = name;
        this.db = db;
        this.options = options;
        this.memEnv = memEnv;
        this.onDeletion = onDeletion;
        this.syncWrite = new WriteOptions().setSync(true);
    }

    /** Opens (or with {@code create}, creates) the metadata in {@code dir}; {@code inMemory} uses RocksDB's memory env. */
    static MetaStore open(String storeName, Path dir, boolean create, boolean inMemory) {
        Options o = new Options();
        o.setCreateIfMissing(create);
        o.setErrorIfExists(create);
        o.setCompressionType(CompressionType.LZ4_COMPRESSION);
        o.setInfoLogLevel(InfoLogLevel.WARN_LEVEL);
        o.setKeepLogFileNum(3);
        o.setMaxTotalWalSize(64L << 20);
        TablePropertiesCollectorFactory onDeletion = tuneForChurn(o);
        Env env = null;
        if (inMemory) {
            env = new RocksMemEnv(Env.getDefault());
            o.setEnv(env);
        }
        try {
            return new MetaStore(storeName, RocksDB.open(o, dir.toString()), o, env, onDeletion);
        } catch (RocksDBException e) {
            o.close();
            onDeletion.close();
            if (env != null) {
                env.close();
            }
            String msg = String.valueOf(e.getMessage());
            if (msg.contains("lock")) {
                throw new StoreException(StoreException.Kind.LOCKED,
                        "store " + storeName + ": metadata " + dir + " is already open: " + msg, e);
            }
            if (msg.contains("does not exist")) {
                throw new StoreException(StoreException.Kind.NOT_FOUND,
                        "store " + storeName + ": no metadata in " + dir + ": " + msg, e);
            }
            throw new StoreException(StoreException.Kind.IO, "store " + storeName + ": cannot open metadata " + dir + ": " + msg, e);
        }
    }

    /**
     * Memtable size: small, so that it flushes every few dozen checkpoints. The steady state of
     * a store (commit a delta, delete the oldest epoch) rewrites and deletes a few hundred keys
     * per checkpoint in a metadata of well under a megabyte. With RocksDB's default of 64 MiB the
     * memtable is never flushed at 100 checkpoints a second and keeps every deleted key and every
     * overwritten version, which the backward seeks of {@link EpochDeletion} step over (53 MB of
     * memtable against 0.5 MB compacted after 1000 rounds of StoreBench (f)).
     */
    static final long WRITE_BUFFER_BYTES = 1L << 20;
    /**
     * Compact level 0 at two files. In so small a metadata that compaction writes the bottom level
     * (dynamic level sizes), where deleted keys are dropped for good.
     */
    static final int L0_COMPACTION_TRIGGER = 2;
    /**
     * Mark an SST file for compaction when any {@value #DELETION_WINDOW} consecutive entries hold
     * {@value #DELETION_TRIGGER} deletions: the key ranges of a layer merged down are nothing
     * but deletions, and compacting them away early keeps seeks near them cheap.
     */
    static final int DELETION_WINDOW = 32;
    static final int DELETION_TRIGGER = 16;

    /**
     * Sets the RocksDB options for the commit-and-delete churn of checkpoints
     * (docs/store-format.md, "Tuning"); returns the collector factory, to close with the options.
     */
    private static TablePropertiesCollectorFactory tuneForChurn(Options o) {
        o.setWriteBufferSize(WRITE_BUFFER_BYTES);
        o.setLevel0FileNumCompactionTrigger(L0_COMPACTION_TRIGGER);
        TablePropertiesCollectorFactory f =
                TablePropertiesCollectorFactory.NewCompactOnDeletionCollectorFactory(DELETION_WINDOW, DELETION_TRIGGER, 0);
        o.setTablePropertiesCollectorFactory(List.of(f));
        return f;
    }

    /** A numeric RocksDB property ("rocksdb.num-files-at-level1", ...), or -1 (tests, diagnostics). */
    long longProperty(String property) {
        try {
            return Long.parseLong(db.getProperty(property));
        } catch (RocksDBException | NumberFormatException e) {
            return -1;
        }
    }

    String name() {
        return name;
    }

    /** The payload of {@code key}, or null; throws CORRUPT when its frame is wrong. */
    byte[] get(byte[] key) {
        try {
            byte[] v = db.get(key);
            return v == null ? null : unframe(key, v);
        } catch (RocksDBException e) {
            throw io("read " + Keys.describe(key), e);
        }
    }

    /** The raw value, frame included (fsck, cleaner re-validation). */
    byte[] getRaw(byte[] key) {
        try {
            return db.get(key);
        } catch (RocksDBException e) {
            throw io("read " + Keys.describe(key), e);
        }
    }

    byte[] unframe(byte[] key, byte[] v) {
        if (!frameOk(key, v)) {
            throw new StoreException(StoreException.Kind.CORRUPT,
                    "store " + name + ": metadata record " + Keys.describe(key) + " fails its CRC32C check");
        }
        return Arrays.copyOf(v, v.length - 4);
    }

    static boolean frameOk(byte[] key, byte[] v) {
        return v.length >= 4 && Crc.record(key, v, v.length - 4) == ByteBuffer.wrap(v).getInt(v.length - 4);
    }

    static byte[] frame(byte[] key, byte[] payload) {
        byte[] v = Arrays.copyOf(payload, payload.length + 4);
        ByteBuffer.wrap(v).putInt(payload.length, Crc.record(key, payload, payload.length));
        return v;
    }

    void put(WriteBatch b, byte[] key, byte[] payload) {
        try {
            b.put(key, frame(key, payload));
        } catch (RocksDBException e) {
            throw io("batch " + Keys.describe(key), e);
        }
    }

    void putRaw(WriteBatch b, byte[] key, byte[] framed) {
        try {
            b.put(key, framed);
        } catch (RocksDBException e) {
            throw io("batch " + Keys.describe(key), e);
        }
    }

    void delete(WriteBatch b, byte[] key) {
        try {
            b.delete(key);
        } catch (RocksDBException e) {
            throw io("batch delete " + Keys.describe(key), e);
        }
    }

    /** Writes the batch atomically and durably (WAL synced). */
    void write(WriteBatch b) {
        try {
            db.write(syncWrite, b);
        } catch (RocksDBException e) {
            throw io("commit a write batch", e);
        }
    }

    /** Writes one record durably. */
    void putNow(byte[] key, byte[] payload) {
        try (WriteBatch b = new WriteBatch()) {
            put(b, key, payload);
            write(b);
        }
    }

    /** Visitor of {@link #scan}; return false to stop. */
    interface Visitor {
        boolean visit(byte[] key, byte[] payload);
    }

    /** Visitor of {@link #scanRaw}. */
    interface RawVisitor {
        boolean visit(byte[] key, byte[] framedValue);
    }

    /** Visits the records whose key starts with {@code prefix}, in key order, frames checked. */
    void scan(byte[] prefix, Visitor v) {
        scanRaw(prefix, (k, raw) -> v.visit(k, unframe(k, raw)));
    }

    /**
     * Visits the records whose key starts with {@code prefix}, frames not checked. The iterator
     * is bounded above by the prefix's successor, so RocksDB stops at the prefix's end instead
     * of stepping over the deleted keys (tombstones) that may lie beyond it.
     */
    void scanRaw(byte[] prefix, RawVisitor v) {
        byte[] upper = Keys.successor(prefix);
        try (Slice up = upper == null ? null : new Slice(upper); ReadOptions ro = new ReadOptions()) {
            ro.setFillCache(true);
            if (up != null) {
                ro.setIterateUpperBound(up);
            }
            try (RocksIterator it = db.newIterator(ro)) {
                for (it.seek(prefix); it.isValid(); it.next()) {
                    byte[] k = it.key();
                    if (!startsWith(k, prefix)) {
                        break;
                    }
                    if (!v.visit(k, it.value())) {
                        break;
                    }
                }
                status(it, prefix);
            }
        }
    }

    private void status(RocksIterator it, byte[] prefix) {
        try {
            it.status();
        } catch (RocksDBException e) {
            throw io("scan " + Keys.describe(prefix), e);
        }
    }

    /** A cursor over the records of one key prefix; see {@link #cursor}. */
    final class Cursor implements AutoCloseable {
        private final byte[] prefix;
        private final Slice lower;
        private final Slice upper;
        private final ReadOptions ro;
        private final RocksIterator it;

        private Cursor(byte[] prefix) {
            this.prefix = prefix;
            byte[] up = Keys.successor(prefix);
            this.lower = new Slice(prefix);
            this.upper = up == null ? null : new Slice(up);
            this.ro = new ReadOptions().setIterateLowerBound(lower);
            if (upper != null) {
                ro.setIterateUpperBound(upper);
            }
            this.it = db.newIterator(ro);
        }

        /**
         * Visits, frames checked, the record with the greatest key &le; {@code from} under the
         * prefix (if any) and then every following one under the prefix, in key order, until
         * the visitor returns false. This finds the extent that covers a page without reading
         * the extents before it.
         */
        void fromFloor(byte[] from, Visitor v) {
            it.seekForPrev(from);
            if (!it.isValid() || !startsWith(it.key(), prefix)) {
                status(it, prefix);
                it.seek(prefix);
            }
            for (; it.isValid(); it.next()) {
                byte[] k = it.key();
                if (!startsWith(k, prefix)) {
                    break;
                }
                if (!v.visit(k, unframe(k, it.value()))) {
                    break;
                }
            }
            status(it, prefix);
        }

        @Override
        public void close() {
            it.close();
            ro.close();
            lower.close();
            if (upper != null) {
                upper.close();
            }
        }
    }

    /** A cursor bounded to the records whose key starts with {@code prefix}; close it after use. */
    Cursor cursor(byte[] prefix) {
        return new Cursor(prefix);
    }

    static boolean startsWith(byte[] k, byte[] prefix) {
        if (k.length < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (k[i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    /** Bytes of metadata: SST files plus memtables (the WAL duplicates the memtables). */
    long sizeBytes() {
        try {
            return Long.parseLong(db.getProperty("rocksdb.total-sst-files-size"))
                    + Long.parseLong(db.getProperty("rocksdb.cur-size-all-mem-tables"));
        } catch (RocksDBException | NumberFormatException e) {
            return -1;
        }
    }

    /** Flushes memtables and compacts everything (benchmark: measure settled size). */
    void compact() {
        try (FlushOptions f = new FlushOptions().setWaitForFlush(true)) {
            db.flush(f);
            db.compactRange();
        } catch (RocksDBException e) {
            throw io("compact", e);
        }
    }

    private StoreException io(String what, RocksDBException e) {
        return new StoreException(StoreException.Kind.IO, "store " + name + ": metadata: cannot " + what + ": " + e.getMessage(), e);
    }

    @Override
    public void close() {
        try {
            db.syncWal();
        } catch (RocksDBException e) {
            // the WAL is synced at every commit already; a failure here loses nothing committed
        }
        db.close();
        syncWrite.close();
        options.close();
        onDeletion.close();
        if (memEnv != null) {
            memEnv.close();
        }
    }
}
