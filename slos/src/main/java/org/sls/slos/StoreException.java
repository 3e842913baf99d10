package org.sls.slos;

/**
 * The one exception slos throws: a machine-usable {@link Kind} and a message that names the store
 * and the thing at fault (object, page, epoch, partition, file). Unchecked. Immutable.
 */
public class StoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** What went wrong, for callers that react differently (CLI exit codes, protocol codes). */
    public enum Kind {
        /** A partition, epoch, object or store that does not exist. */
        NOT_FOUND,
        /** Something that must not exist already does (a store at format time, a partition name). */
        EXISTS,
        /** A checksum or structure check failed: data or metadata is damaged. */
        CORRUPT,
        /** No space left for the data of an epoch. */
        FULL,
        /** The store is open elsewhere. */
        LOCKED,
        /** The two sides of a store disagree (UUID, version). */
        MISMATCH,
        /** An operating-system I/O error. */
        IO,
        /** A request that makes no sense (bad argument, wrong state). */
        INVALID
    }

    private final Kind kind;

    public StoreException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public StoreException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    /** The kind of failure. */
    public Kind kind() {
        return kind;
    }
}
