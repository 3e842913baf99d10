package org.sls.slos;

/**
 * Every on-disk layout constant of slos, in one place (see {@code docs/store-format.md}).
 *
 * <p>The data side is: two superblock copies in the first {@link #DATA_OFFSET} bytes, then
 * equal-sized segments written append-only in units of {@link #BLOCK_SIZE}. Stateless; thread-safe.
 */
public final class Layout {
    private Layout() {}

    /** Size of a page and of a block: the unit of allocation, alignment and checksumming. */
    public static final int BLOCK_SIZE = 4096;
    /** log2 of {@link #BLOCK_SIZE}. */
    public static final int BLOCK_SHIFT = 12;
    /** Page size seen by users of {@link EpochWriter} and {@link ObjectReader}; equals the block size. */
    public static final int PAGE_SIZE = BLOCK_SIZE;

    /** Magic at the start of each superblock copy. */
    public static final long SUPERBLOCK_MAGIC = 0x534c4f5353555052L; // "SLOSSUPR"
    /**
     * The on-disk format version this code writes. Version 2 keys extents by (object, layer,
     * page) under 'L' and gives epoch records a layer (docs/store-format.md).
     */
    public static final int FORMAT_VERSION = 2;
    /**
     * The oldest format version this code opens: a version 1 store is upgraded at open (its
     * 'X' extents rewritten as 'L' in one batch, then the superblocks rewritten as version 2).
     */
    public static final int MIN_FORMAT_VERSION = 1;
    /**
     * Offsets of the two superblock copies. They sit in different 64 KiB regions so one torn
     * or damaged write cannot hit both; commits alternate between them (generation parity).
     */
    public static final long[] SUPERBLOCK_OFFSETS = {0L, 256L * 1024};
    /** Bytes reserved for one superblock copy (one block). */
    public static final int SUPERBLOCK_SIZE = BLOCK_SIZE;
    /** First byte of the first segment; everything before belongs to the superblocks. */
    public static final long DATA_OFFSET = 1024L * 1024;

    /** Default segment size: the unit the cleaner frees. */
    public static final int DEFAULT_SEGMENT_SIZE = 4 * 1024 * 1024;
    /** Smallest segment size accepted by format (tests use small stores). */
    public static final int MIN_SEGMENT_SIZE = 64 * 1024;
    /** Largest write issued at once by an epoch writer (it also never crosses a segment). */
    public static final int MAX_WRITE_SIZE = 4 * 1024 * 1024;
    /** Longest run of pages described by one extent record (bounds record size to ~1 KiB). */
    public static final int MAX_EXTENT_PAGES = 256;
    /** Segments kept free for the cleaner: epoch writers fail with FULL rather than take them. */
    public static final int CLEANER_RESERVE_SEGMENTS = 1;
    /** Smallest store: the superblock area plus a few segments. */
    public static final long MIN_STORE_SIZE = DATA_OFFSET + 4L * MIN_SEGMENT_SIZE;

    /** Name of the metadata directory beside an image file: {@code IMAGE + META_SUFFIX}. */
    public static final String META_SUFFIX = ".meta";
    /** Parent of the metadata directory of a block device: {@code /var/lib/sls/UUID/}. */
    public static final String DEVICE_META_ROOT = "/var/lib/sls";
    /** Lock file inside the metadata directory; holds the owner's pid. */
    public static final String LOCK_FILE = "slos.lock";

    /** Block address (in blocks from the start of the data) of a byte offset. */
    public static long blockOf(long byteOffset) {
        return byteOffset >>> BLOCK_SHIFT;
    }
}
