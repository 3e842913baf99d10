package org.sls.libsls.protocol;

/**
 * An operation failed; carries the protocol error code and a message that names the thing
 * (partition, pid, fd, epoch). Thrown by the client library and by slsd handlers alike.
 */
public class SlsException extends RuntimeException {
    private final ErrorCode code;

    public SlsException(ErrorCode code, String message) {
        super(message);
        this.code = code;
    }

    public SlsException(ErrorCode code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    /** What kind of failure this is. */
    public ErrorCode code() {
        return code;
    }

    /** This failure as carried on the wire. */
    public SlsError toError() {
        return new SlsError(code, getMessage());
    }
}
