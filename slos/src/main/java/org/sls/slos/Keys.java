package org.sls.slos;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Keys of the metadata records in RocksDB. Each starts with a one-byte type; numbers are
 * big-endian so that the byte order is the numeric order (all numbers are non-negative).
 * Stateless; thread-safe.
 *
 * <pre>
 * 'M' name                      store facts (uuid, version, epoch and object high-water marks)
 * 'P' name                      partition (JSON)
 * 'E' epoch                     epoch record (partition, parent, time, counts)
 * 'T' epoch object              object touched by the epoch (lets deletion find its records)
 * 'O' object epoch              object record of one epoch (exists at end, hide-from page)
 * 'X' object startPage epoch    extent: a run of pages of one epoch (data location + CRCs, or a hole)
 * 'B' epoch name                blob of an epoch (the manifest)
 * 'S' segment                   segment record (live pages, write pointer)
 * </pre>
 */
final class Keys {
    private Keys() {}

    static final byte META = 'M';
    static final byte PARTITION = 'P';
    static final byte EPOCH = 'E';
    static final byte TOUCHED = 'T';
    static final byte OBJECT = 'O';
    static final byte EXTENT = 'X';
    static final byte BLOB = 'B';
    static final byte SEGMENT = 'S';

    static byte[] meta(String name) {
        return withString(META, name);
    }

    static byte[] partition(String name) {
        return withString(PARTITION, name);
    }

    static byte[] epoch(long epoch) {
        return ByteBuffer.allocate(9).put(EPOCH).putLong(epoch).array();
    }

    static byte[] touched(long epoch, long object) {
        return ByteBuffer.allocate(17).put(TOUCHED).putLong(epoch).putLong(object).array();
    }

    static byte[] touchedPrefix(long epoch) {
        return ByteBuffer.allocate(9).put(TOUCHED).putLong(epoch).array();
    }

    static byte[] object(long object, long epoch) {
        return ByteBuffer.allocate(17).put(OBJECT).putLong(object).putLong(epoch).array();
    }

    static byte[] objectPrefix(long object) {
        return ByteBuffer.allocate(9).put(OBJECT).putLong(object).array();
    }

    static byte[] extent(long object, long start, long epoch) {
        return ByteBuffer.allocate(25).put(EXTENT).putLong(object).putLong(start).putLong(epoch).array();
    }

    static byte[] extentPrefix(long object) {
        return ByteBuffer.allocate(9).put(EXTENT).putLong(object).array();
    }

    static byte[] blob(long epoch, String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(9 + n.length).put(BLOB).putLong(epoch).put(n).array();
    }

    static byte[] blobPrefix(long epoch) {
        return ByteBuffer.allocate(9).put(BLOB).putLong(epoch).array();
    }

    static byte[] segment(long segment) {
        return ByteBuffer.allocate(9).put(SEGMENT).putLong(segment).array();
    }

    static byte[] prefix(byte type) {
        return new byte[] {type};
    }

    private static byte[] withString(byte type, String s) {
        byte[] n = s.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(1 + n.length).put(type).put(n).array();
    }

    static long long1(byte[] key) {
        return ByteBuffer.wrap(key).getLong(1);
    }

    static long long2(byte[] key) {
        return ByteBuffer.wrap(key).getLong(9);
    }

    static long long3(byte[] key) {
        return ByteBuffer.wrap(key).getLong(17);
    }

    static String string1(byte[] key) {
        return new String(key, 1, key.length - 1, StandardCharsets.UTF_8);
    }

    static String blobName(byte[] key) {
        return new String(key, 9, key.length - 9, StandardCharsets.UTF_8);
    }

    /** Human description of a key, for errors: "extent object 5 page 12 epoch 7". */
    static String describe(byte[] key) {
        if (key.length == 0) {
            return "empty key";
        }
        try {
            switch (key[0]) {
                case META: return "store fact '" + string1(key) + "'";
                case PARTITION: return "partition '" + string1(key) + "'";
                case EPOCH: return "epoch " + long1(key);
                case TOUCHED: return "touched list of epoch " + long1(key) + " (object " + long2(key) + ")";
                case OBJECT: return "object record object " + long1(key) + " epoch " + long2(key);
                case EXTENT: return "extent object " + long1(key) + " page " + long2(key) + " epoch " + long3(key);
                case BLOB: return "blob '" + blobName(key) + "' of epoch " + long1(key);
                case SEGMENT: return "segment record " + long1(key);
                default: return "unknown record type 0x" + Integer.toHexString(key[0] & 0xff);
            }
        } catch (RuntimeException e) {
            return "malformed key of type 0x" + Integer.toHexString(key[0] & 0xff) + " (" + key.length + " bytes)";
        }
    }
}
