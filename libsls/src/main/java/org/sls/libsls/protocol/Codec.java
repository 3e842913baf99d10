package org.sls.libsls.protocol;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Encodes and decodes protocol lines. Decoding validates the envelope and turns every defect
 * into an {@link SlsException} with code BAD_REQUEST or UNSUPPORTED_VERSION, naming the defect.
 * Thread-safe.
 */
public final class Codec {
    /** The shared mapper; records and JsonNode trees only. */
    public static final ObjectMapper MAPPER = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private Codec() {
    }

    /** One line of JSON without the newline. */
    public static String encode(Object message) {
        try {
            return MAPPER.writeValueAsString(message);
        } catch (JsonProcessingException e) {
            throw new SlsException(ErrorCode.INTERNAL, "cannot encode " + message.getClass().getSimpleName() + ": " + e.getOriginalMessage(), e);
        }
    }

    /** Parses and checks a request line. */
    public static Request decodeRequest(String line) {
        JsonNode node = parseObject(line, "request");
        JsonNode v = node.get("v");
        if (v == null || !v.isInt()) {
            throw new SlsException(ErrorCode.BAD_REQUEST, "request lacks the integer protocol version field \"v\"");
        }
        JsonNode id = node.get("id");
        if (id == null || !id.canConvertToLong() || !id.isIntegralNumber()) {
            throw new SlsException(ErrorCode.BAD_REQUEST, "request lacks the integer field \"id\"");
        }
        if (v.intValue() != Protocol.VERSION) {
            throw new SlsException(ErrorCode.UNSUPPORTED_VERSION,
                    "protocol version " + v.intValue() + " is not supported; this slsd speaks version " + Protocol.VERSION);
        }
        JsonNode op = node.get("op");
        if (op == null || !op.isTextual()) {
            throw new SlsException(ErrorCode.BAD_REQUEST, "request lacks the string field \"op\"");
        }
        JsonNode args = node.get("args");
        if (args != null && !args.isNull() && !args.isObject()) {
            throw new SlsException(ErrorCode.BAD_REQUEST, "field \"args\" must be an object");
        }
        ObjectNode argsObject = args == null || args.isNull() ? MAPPER.createObjectNode() : (ObjectNode) args;
        return new Request(v.intValue(), id.longValue(), op.textValue(), argsObject);
    }

    /** Parses a response line. */
    public static Response decodeResponse(String line) {
        JsonNode node = parseObject(line, "response");
        try {
            return MAPPER.treeToValue(node, Response.class);
        } catch (JsonProcessingException e) {
            throw new SlsException(ErrorCode.BAD_REQUEST, "malformed response from slsd: " + e.getOriginalMessage(), e);
        }
    }

    /** Best-effort id of a line that failed validation, so the error can still be matched; 0 if none. */
    public static long idOf(String line) {
        try {
            JsonNode id = MAPPER.readTree(line).get("id");
            return id != null && id.isIntegralNumber() ? id.longValue() : 0;
        } catch (JsonProcessingException | RuntimeException e) {
            return 0;
        }
    }

    private static JsonNode parseObject(String line, String what) {
        JsonNode node;
        try {
            node = MAPPER.readTree(line);
        } catch (JsonProcessingException e) {
            throw new SlsException(ErrorCode.BAD_REQUEST, what + " is not valid JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            throw new SlsException(ErrorCode.BAD_REQUEST, what + " must be a JSON object");
        }
        return node;
    }
}
