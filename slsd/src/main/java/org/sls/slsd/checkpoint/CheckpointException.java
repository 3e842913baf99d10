package org.sls.slsd.checkpoint;

/**
 * A checkpoint, attach or spawn that failed, with a message naming the thing (pid, fd, kind) and a
 * {@link Kind} the daemon maps to a protocol error code. Unchecked; immutable.
 */
public final class CheckpointException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why it failed. */
    public enum Kind {
        /** the pid does not exist or exited during the operation */
        NO_SUCH_PROCESS,
        /** the caller may not act on the process */
        PERMISSION,
        /** another tracer (gdb, strace) holds the process */
        ALREADY_TRACED,
        /** the process holds a resource this version cannot save (fd kind, mapping, namespace) */
        UNSUPPORTED_RESOURCE,
        /** the store refused the epoch (full, I/O error) */
        STORE,
        /** a bug or an unexpected kernel answer */
        INTERNAL
    }

    private final Kind kind;

    public CheckpointException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public CheckpointException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() { return kind; }

    public static CheckpointException unsupported(int pid, String what) {
        return new CheckpointException(Kind.UNSUPPORTED_RESOURCE, "pid " + pid + " " + what + ": not supported yet");
    }
}
