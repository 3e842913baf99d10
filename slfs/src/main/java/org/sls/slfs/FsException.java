package org.sls.slfs;

/**
 * A file-system operation refused with an errno (ENOENT, EEXIST...), with a message naming the
 * partition and path. Thrown inside slfs and turned into {@code -errno} at the FUSE boundary; never
 * logged as an error (these are ordinary answers). Immutable.
 */
final class FsException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int errno;

    FsException(int errno, String message) {
        super(message, null, false, false);
        this.errno = errno;
    }

    int errno() {
        return errno;
    }
}
