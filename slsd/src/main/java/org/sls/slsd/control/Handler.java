package org.sls.slsd.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Serves one operation of the control protocol. Implementations throw
 * {@link org.sls.libsls.protocol.SlsException} with a code and a message that names the thing;
 * any other exception is reported as INTERNAL. Must be thread-safe: connections are served
 * concurrently.
 */
@FunctionalInterface
public interface Handler {
    /** Runs the operation with its arguments and returns its result. */
    JsonNode handle(ObjectNode args, Caller caller) throws Exception;
}
