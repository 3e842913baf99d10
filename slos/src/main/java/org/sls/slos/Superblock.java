package org.sls.slos;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * One superblock copy: identity and geometry of a store, where its metadata lives, and the last
 * committed epoch. Encoded in one block as {@code magic, version, length, payload, CRC32C}; the
 * copy with the valid CRC and the highest generation wins. Immutable.
 */
record Superblock(int version, UUID uuid, int blockSize, int segmentSize, long size, long dataOffset,
                  long generation, long lastEpoch, FormatOptions.Mode mode, String metaLocation) {

    /** Number of segments that fit. */
    long segments() {
        return (size - dataOffset) / segmentSize;
    }

    /** The next copy to write: always in the current format version (an older store is upgraded). */
    Superblock withEpoch(long epoch, long gen) {
        return new Superblock(Layout.FORMAT_VERSION, uuid, blockSize, segmentSize, size, dataOffset, gen, epoch, mode, metaLocation);
    }

    /** The copy this generation is written to: copies alternate so a torn write spares the other. */
    int copyIndex() {
        return (int) (generation & 1);
    }

    ByteBuffer encode() {
        ByteBuffer b = ByteBuffer.allocate(Layout.SUPERBLOCK_SIZE);
        byte[] meta = metaLocation.getBytes(StandardCharsets.UTF_8);
        b.putLong(Layout.SUPERBLOCK_MAGIC).putInt(version).putInt(0);
        int start = b.position();
        b.putLong(uuid.getMostSignificantBits()).putLong(uuid.getLeastSignificantBits());
        b.putInt(blockSize).putInt(segmentSize).putLong(size).putLong(dataOffset);
        b.putLong(generation).putLong(lastEpoch).put((byte) mode.ordinal());
        b.putShort((short) meta.length).put(meta);
        int len = b.position() - start;
        b.putInt(12, len);
        b.putInt(Crc.of(b.array(), 0, b.position()));
        b.position(0).limit(Layout.SUPERBLOCK_SIZE);
        return b;
    }

    /** Result of decoding one copy: the superblock or why it is not one. */
    record Decoded(Superblock sb, Problem problem, int foundVersion) {}

    /** Why a copy is unusable. */
    enum Problem { NONE, NO_MAGIC, VERSION, CRC }

    static Decoded decode(ByteBuffer b) {
        if (b.getLong(0) != Layout.SUPERBLOCK_MAGIC) {
            return new Decoded(null, Problem.NO_MAGIC, 0);
        }
        int version = b.getInt(8);
        if (version < Layout.MIN_FORMAT_VERSION || version > Layout.FORMAT_VERSION) {
            return new Decoded(null, Problem.VERSION, version);
        }
        int len = b.getInt(12);
        if (len < 0 || 16 + len + 4 > Layout.SUPERBLOCK_SIZE) {
            return new Decoded(null, Problem.CRC, version);
        }
        byte[] a = new byte[16 + len];
        b.get(0, a);
        if (Crc.of(a, 0, a.length) != b.getInt(16 + len)) {
            return new Decoded(null, Problem.CRC, version);
        }
        ByteBuffer p = ByteBuffer.wrap(a, 16, len);
        UUID uuid = new UUID(p.getLong(), p.getLong());
        int blockSize = p.getInt();
        int segmentSize = p.getInt();
        long size = p.getLong();
        long dataOffset = p.getLong();
        long gen = p.getLong();
        long last = p.getLong();
        int mode = p.get();
        byte[] meta = new byte[p.getShort() & 0xffff];
        p.get(meta);
        FormatOptions.Mode[] modes = FormatOptions.Mode.values();
        if (mode < 0 || mode >= modes.length) {
            return new Decoded(null, Problem.CRC, version);
        }
        return new Decoded(new Superblock(version, uuid, blockSize, segmentSize, size, dataOffset, gen, last,
                modes[mode], new String(meta, StandardCharsets.UTF_8)), Problem.NONE, version);
    }
}
