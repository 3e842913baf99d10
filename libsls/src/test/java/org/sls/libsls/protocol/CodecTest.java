package org.sls.libsls.protocol;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CodecTest {

    @Test
    void aRequestRoundTrips() {
        ObjectNode args = Codec.MAPPER.createObjectNode().put("name", "web");
        String line = Codec.encode(new Request(Protocol.VERSION, 7, "partadd", args));
        Request back = Codec.decodeRequest(line);
        assertEquals(7, back.id());
        assertEquals("partadd", back.op());
        assertEquals("web", back.args().get("name").textValue());
    }

    @Test
    void missingArgsBecomeAnEmptyObject() {
        Request r = Codec.decodeRequest("{\"v\":1,\"id\":1,\"op\":\"status\"}");
        assertTrue(r.args().isEmpty());
    }

    @Test
    void eachEnvelopeDefectHasItsOwnMessage() {
        assertDefect("nope", ErrorCode.BAD_REQUEST, "not valid JSON");
        assertDefect("[]", ErrorCode.BAD_REQUEST, "must be a JSON object");
        assertDefect("{\"id\":1,\"op\":\"x\"}", ErrorCode.BAD_REQUEST, "\"v\"");
        assertDefect("{\"v\":1,\"op\":\"x\"}", ErrorCode.BAD_REQUEST, "\"id\"");
        assertDefect("{\"v\":1,\"id\":1.5,\"op\":\"x\"}", ErrorCode.BAD_REQUEST, "\"id\"");
        assertDefect("{\"v\":3,\"id\":1,\"op\":\"x\"}", ErrorCode.UNSUPPORTED_VERSION, "version 3");
        assertDefect("{\"v\":1,\"id\":1}", ErrorCode.BAD_REQUEST, "\"op\"");
        assertDefect("{\"v\":1,\"id\":1,\"op\":\"x\",\"args\":[1]}", ErrorCode.BAD_REQUEST, "\"args\"");
    }

    @Test
    void responsesRoundTripWithTheirError() {
        String line = Codec.encode(Response.failure(9, new SlsError(ErrorCode.NOT_FOUND, "no partition named x")));
        Response r = Codec.decodeResponse(line);
        assertEquals(9, r.id());
        assertEquals(ErrorCode.NOT_FOUND, r.error().code());
        assertEquals("no partition named x", r.error().message());
    }

    @Test
    void theIdOfABrokenRequestIsRecoveredWhenPossible() {
        assertEquals(12, Codec.idOf("{\"v\":9,\"id\":12}"));
        assertEquals(0, Codec.idOf("garbage"));
    }

    private static void assertDefect(String line, ErrorCode code, String fragment) {
        SlsException e = assertThrows(SlsException.class, () -> Codec.decodeRequest(line));
        assertEquals(code, e.code(), line);
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
    }
}
