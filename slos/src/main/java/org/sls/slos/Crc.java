package org.sls.slos;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/** CRC32C helpers (hardware accelerated by the JDK). Stateless; thread-safe. */
final class Crc {
    private Crc() {}

    /** CRC32C of a zero page: a cheap first test for "is this page all zeros". */
    static final int ZERO_PAGE_CRC;

    static {
        ZERO_PAGE_CRC = page(ByteBuffer.allocate(Layout.PAGE_SIZE), 0);
    }

    /** CRC32C of PAGE_SIZE bytes at {@code offset} of {@code buf} (its position is untouched). */
    static int page(ByteBuffer buf, int offset) {
        CRC32C c = new CRC32C();
        ByteBuffer d = buf.duplicate();
        d.limit(offset + Layout.PAGE_SIZE).position(offset);
        c.update(d);
        return (int) c.getValue();
    }

    static int of(byte[] a, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(a, off, len);
        return (int) c.getValue();
    }

    /** CRC32C over key then value[0, len): used to frame every metadata record. */
    static int record(byte[] key, byte[] value, int len) {
        CRC32C c = new CRC32C();
        c.update(key, 0, key.length);
        c.update(value, 0, len);
        return (int) c.getValue();
    }

    /** True when the PAGE_SIZE bytes at {@code offset} are all zero. */
    static boolean isZero(ByteBuffer buf, int offset) {
        for (int i = 0; i < Layout.PAGE_SIZE; i += 8) {
            if (buf.getLong(offset + i) != 0) {
                return false;
            }
        }
        return true;
    }
}
