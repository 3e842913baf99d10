package org.sls.slsd.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.channels.SocketChannel;

/**
 * Serves an operation that, once answered, turns its connection into a raw byte stream (the
 * console): {@link #open} checks the request and returns the answer and the session that then
 * owns the connection until either side ends it. Errors as for {@link Handler}. Must be
 * thread-safe.
 */
@FunctionalInterface
public interface StreamHandler {
    /** Checks the request; the answer is sent, then {@code session} runs on the connection. */
    Stream open(ObjectNode args, Caller caller) throws Exception;

    /** The success answer and what serves the connection after it. */
    record Stream(JsonNode result, Session session) {}

    /** Serves the raw bytes of one connection; returns when either side ended (slsd then closes it). */
    @FunctionalInterface
    interface Session {
        /**
         * @param channel the connection, blocking: read and write it directly (the JDK's channel
         *                streams serialize reads and writes, which would deadlock a two-way copy)
         */
        void run(SocketChannel channel) throws IOException;
    }
}
