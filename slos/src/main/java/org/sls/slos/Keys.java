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
 * 'E' epoch                     epoch record (partition, parent, time, counts, layer)
 * 'T' layer object              object touched by the layer (lets deletion find its records)
 * 'O' object layer              object record of one layer (exists at end, hide-from page)
 * 'L' object layer startPage    extent: a run of pages of one layer (data location + CRCs, or a hole)
 * 'B' epoch name                blob of an epoch (the manifest)
 * 'S' segment                   segment record (live pages, write pointer)
 * 'X' object startPage epoch    extent of format version 1, rewritten as 'L' when such a store opens
 * </pre>
 *
 * A <em>layer</em> is the number under which an epoch's 'T', 'O' and 'L' records are keyed. A
 * new epoch's layer is its own number; deleting an epoch whose single child is smaller merges the
 * child's records down into the deleted epoch's layer, and the child takes that layer over (see
 * {@link EpochDeletion}). Every epoch owns exactly one layer, and a layer is always greater than
 * its parent epoch's layer, so ordering layers orders an ancestry. Manifests ('B') stay keyed by
 * epoch number, the number users see.
 */
final class Keys {
    private Keys() {}

    static final byte META = 'M';
    static final byte PARTITION = 'P';
    static final byte EPOCH = 'E';
    static final byte TOUCHED = 'T';
    static final byte OBJECT = 'O';
    static final byte EXTENT = 'L';
    /** Extent keys of format version 1 (object, startPage, epoch); only read, to migrate them. */
    static final byte LEGACY_EXTENT = 'X';
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

    static byte[] touched(long layer, long object) {
        return ByteBuffer.allocate(17).put(TOUCHED).putLong(layer).putLong(object).array();
    }

    static byte[] touchedPrefix(long layer) {
        return ByteBuffer.allocate(9).put(TOUCHED).putLong(layer).array();
    }

    static byte[] object(long object, long layer) {
        return ByteBuffer.allocate(17).put(OBJECT).putLong(object).putLong(layer).array();
    }

    static byte[] objectPrefix(long object) {
        return ByteBuffer.allocate(9).put(OBJECT).putLong(object).array();
    }

    /** Extent key: note the order, layer before the first page (all extents of a layer are adjacent). */
    static byte[] extent(long object, long layer, long start) {
        return ByteBuffer.allocate(25).put(EXTENT).putLong(object).putLong(layer).putLong(start).array();
    }

    static byte[] extentPrefix(long object) {
        return ByteBuffer.allocate(9).put(EXTENT).putLong(object).array();
    }

    static byte[] extentPrefix(long object, long layer) {
        return ByteBuffer.allocate(17).put(EXTENT).putLong(object).putLong(layer).array();
    }

    static long extentObject(byte[] key) {
        return long1(key);
    }

    static long extentLayer(byte[] key) {
        return long2(key);
    }

    static long extentStart(byte[] key) {
        return long3(key);
    }

    /**
     * The smallest key greater than every key starting with {@code prefix} (the exclusive upper
     * bound of a prefix scan), or null when there is none (the prefix is all 0xff bytes).
     */
    static byte[] successor(byte[] prefix) {
        byte[] s = prefix.clone();
        for (int i = s.length - 1; i >= 0; i--) {
            if (s[i] != (byte) 0xff) {
                s[i]++;
                return java.util.Arrays.copyOf(s, i + 1);
            }
        }
        return null;
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

    /** Human description of a key, for errors: "extent object 5 layer 7 page 12". */
    static String describe(byte[] key) {
        if (key.length == 0) {
            return "empty key";
        }
        try {
            switch (key[0]) {
                case META: return "store fact '" + string1(key) + "'";
                case PARTITION: return "partition '" + string1(key) + "'";
                case EPOCH: return "epoch " + long1(key);
                case TOUCHED: return "touched list of layer " + long1(key) + (key.length >= 17 ? " (object " + long2(key) + ")" : "");
                case OBJECT: return "object record object " + long1(key) + (key.length >= 17 ? " layer " + long2(key) : "");
                case EXTENT: return "extent object " + long1(key) + (key.length >= 17 ? " layer " + long2(key) : "")
                        + (key.length >= 25 ? " page " + long3(key) : "");
                case LEGACY_EXTENT: return "version 1 extent object " + long1(key) + " page " + long2(key) + " epoch " + long3(key);
                case BLOB: return "blob '" + blobName(key) + "' of epoch " + long1(key);
                case SEGMENT: return "segment record " + long1(key);
                default: return "unknown record type 0x" + Integer.toHexString(key[0] & 0xff);
            }
        } catch (RuntimeException e) {
            return "malformed key of type 0x" + Integer.toHexString(key[0] & 0xff) + " (" + key.length + " bytes)";
        }
    }
}
