package org.sls.slsd.restore;

/**
 * A restore that failed, with a message naming the process, the step and the thing, e.g.
 * {@code restore of pid 4242: step 4 (map VMA 7f00..-7f10.. /usr/lib/x.so): mmap: ENOMEM}, and a
 * {@link Kind} the daemon maps to a protocol error. By the time it is thrown every process the
 * restore created has been killed. Unchecked; immutable.
 */
public final class RestoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why a restore failed. */
    public enum Kind {
        /** no such partition or epoch */
        NOT_FOUND,
        /** a wanted PID (or TID) belongs to a live process */
        PID_TAKEN,
        /** the running kernel's [vdso]/[vvar] differ from the checkpoint's */
        VDSO_MISMATCH,
        /** a file a mapping or fd needs changed or vanished since the checkpoint */
        FILE_CHANGED,
        /** the caller may not restore these processes */
        PERMISSION,
        /** the checkpoint holds something this version cannot restore */
        UNSUPPORTED,
        /** a bug or an unexpected kernel answer */
        INTERNAL
    }

    private final Kind kind;

    public RestoreException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public RestoreException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() { return kind; }
}
