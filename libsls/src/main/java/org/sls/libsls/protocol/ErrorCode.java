package org.sls.libsls.protocol;

/**
 * The closed set of error codes slsd answers with. Clients branch on the code and show the
 * message; codes never change meaning between protocol versions.
 */
public enum ErrorCode {
    /** The line was not a JSON object, was too long, or lacked {@code v}, {@code id} or {@code op}. */
    BAD_REQUEST,
    /** The request's protocol version is not one slsd speaks. */
    UNSUPPORTED_VERSION,
    /** The operation name is not known to this slsd. */
    UNKNOWN_OP,
    /** An argument is missing or has a wrong type or value. */
    INVALID_ARGUMENT,
    /** A named thing (partition, epoch, process) does not exist. */
    NOT_FOUND,
    /** A thing to be created already exists. */
    EXISTS,
    /** The caller may not act on that process or partition. */
    PERMISSION,
    /** The process is held by another tracer, or the partition is busy. */
    BUSY,
    /** The process holds a resource sls cannot save faithfully. */
    UNSUPPORTED,
    /** The store refused: full, corrupt, or failed I/O. */
    STORE,
    /** A bug or an unexpected failure inside slsd. */
    INTERNAL
}
