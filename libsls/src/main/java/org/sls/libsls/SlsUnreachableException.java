package org.sls.libsls;

import java.nio.file.Path;

/**
 * No slsd answers at the socket: it is not running, or the socket is not ours to open.
 */
public final class SlsUnreachableException extends RuntimeException {
    private final Path socket;

    public SlsUnreachableException(Path socket, Throwable cause) {
        super("cannot reach slsd at " + socket + ": is it running?" + (cause != null && cause.getMessage() != null ? " (" + cause.getMessage() + ")" : ""), cause);
        this.socket = socket;
    }

    /** The socket that did not answer. */
    public Path socket() {
        return socket;
    }
}
