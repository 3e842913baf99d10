package org.sls.libsls.protocol;

/**
 * An error as carried on the wire: a code and a message meant for people. Immutable.
 */
public record SlsError(ErrorCode code, String message) {
}
