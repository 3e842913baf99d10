package org.sls.slos;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Binary codecs of the metadata record payloads (the CRC framing is added by {@link MetaStore}).
 * Each payload starts with nothing but its fields, in a fixed order; see docs/store-format.md.
 * Stateless; thread-safe.
 */
final class Records {
    private Records() {}

    /**
     * Payload of an 'E' record. {@code layer} is the number the epoch's 'T', 'O' and 'L' records
     * are keyed under (see {@link Keys}); a record written before layers existed has no such
     * field and decodes with the epoch's own number.
     */
    record Epoch(String partition, long parent, long committedMillis, long pages, long bytes, long layer) {
        byte[] encode() {
            byte[] p = partition.getBytes(StandardCharsets.UTF_8);
            return ByteBuffer.allocate(2 + p.length + 40).putShort((short) p.length).put(p)
                    .putLong(parent).putLong(committedMillis).putLong(pages).putLong(bytes).putLong(layer).array();
        }

        /** Decodes the record of epoch {@code epoch} (whose number is the layer of an old record). */
        static Epoch decode(long epoch, byte[] v) {
            ByteBuffer b = ByteBuffer.wrap(v);
            byte[] p = new byte[b.getShort() & 0xffff];
            b.get(p);
            String partition = new String(p, StandardCharsets.UTF_8);
            long parent = b.getLong();
            long millis = b.getLong();
            long pages = b.getLong();
            long bytes = b.getLong();
            long layer = b.remaining() >= 8 ? b.getLong() : epoch;
            return new Epoch(partition, parent, millis, pages, bytes, layer);
        }

        EpochInfo info(long epoch) {
            return new EpochInfo(partition, epoch, parent, committedMillis, pages, bytes);
        }
    }

    /**
     * Payload of an 'O' record: whether the object exists at the end of the epoch, and from which
     * page on versions of older epochs are hidden (0 after a delete, N after truncate to N,
     * {@link Long#MAX_VALUE} when neither happened).
     */
    record ObjectState(boolean exists, long hideFrom) {
        byte[] encode() {
            return ByteBuffer.allocate(9).put((byte) (exists ? 1 : 0)).putLong(hideFrom).array();
        }

        static ObjectState decode(byte[] v) {
            ByteBuffer b = ByteBuffer.wrap(v);
            return new ObjectState(b.get() != 0, b.getLong());
        }
    }

    /** Kinds of extents. */
    static final byte DATA = 1;
    static final byte HOLE = 2;

    /**
     * Payload of an 'L' extent record (and of a version 1 'X' one): kind, page count, for data the block address of the first page
     * (pages are contiguous on disk) and one CRC32C per page.
     */
    record Extent(byte kind, int count, long block, int[] crcs) {
        byte[] encode() {
            ByteBuffer b = ByteBuffer.allocate(1 + 4 + (kind == DATA ? 8 + 4 * count : 0));
            b.put(kind).putInt(count);
            if (kind == DATA) {
                b.putLong(block);
                for (int i = 0; i < count; i++) {
                    b.putInt(crcs[i]);
                }
            }
            return b.array();
        }

        static Extent decode(byte[] v) {
            ByteBuffer b = ByteBuffer.wrap(v);
            byte kind = b.get();
            int count = b.getInt();
            if (kind != DATA) {
                return new Extent(kind, count, 0, null);
            }
            long block = b.getLong();
            int[] crcs = new int[count];
            for (int i = 0; i < count; i++) {
                crcs[i] = b.getInt();
            }
            return new Extent(kind, count, block, crcs);
        }

        /** The sub-extent of {@code n} pages starting {@code off} pages in. */
        Extent slice(int off, int n) {
            if (kind != DATA) {
                return new Extent(kind, n, 0, null);
            }
            int[] c = new int[n];
            System.arraycopy(crcs, off, c, 0, n);
            return new Extent(kind, n, block + off, c);
        }

        /** Same pages at another place (the cleaner's move). */
        Extent movedTo(long newBlock) {
            return new Extent(kind, count, newBlock, crcs);
        }
    }

    /** Payload of an 'S' record: live page references into the segment and its write pointer (blocks). */
    record Segment(long live, int used) {
        byte[] encode() {
            return ByteBuffer.allocate(12).putLong(live).putInt(used).array();
        }

        static Segment decode(byte[] v) {
            ByteBuffer b = ByteBuffer.wrap(v);
            return new Segment(b.getLong(), b.getInt());
        }
    }

    static byte[] encodeLong(long v) {
        return ByteBuffer.allocate(8).putLong(v).array();
    }

    static long decodeLong(byte[] v) {
        return ByteBuffer.wrap(v).getLong();
    }
}
