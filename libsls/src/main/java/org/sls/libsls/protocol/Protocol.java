package org.sls.libsls.protocol;

/**
 * Constants of the slsd control protocol: one JSON object per line each way over a Unix
 * stream socket. The full specification is {@code docs/protocol.md}.
 */
public final class Protocol {
    /** The protocol version this code speaks; every message carries it as {@code v}. */
    public static final int VERSION = 1;
    /** Longest request line slsd reads, in bytes; a longer one is answered BAD_REQUEST and the connection closed. */
    public static final int MAX_LINE_BYTES = 1 << 20;
    /** Where slsd listens unless told otherwise. */
    public static final String DEFAULT_SOCKET = "/run/sls/slsd.sock";
    /** The environment variable that overrides the socket path for clients. */
    public static final String SOCKET_ENV = "SLS_SOCKET";

    private Protocol() {
    }
}
