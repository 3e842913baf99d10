package org.sls.libsls;

/**
 * The store slsd serves, as {@code status} reports it. Immutable.
 *
 * @param path       data path (image file or block device)
 * @param metaDir    metadata directory
 * @param uuid       store UUID
 * @param totalBytes capacity of the data area
 * @param usedBytes  bytes in use
 * @param freeBytes  bytes free
 */
public record StoreInfo(String path, String metaDir, String uuid, long totalBytes, long usedBytes, long freeBytes) {
}
