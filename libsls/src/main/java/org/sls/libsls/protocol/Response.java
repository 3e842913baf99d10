package org.sls.libsls.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * One response line: {@code {"v":1,"id":7,"ok":true,"result":{...}}} or
 * {@code {"v":1,"id":7,"ok":false,"error":{"code":"NOT_FOUND","message":"..."}}}. Immutable.
 * The id is 0 when the request was too malformed to carry one.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Response(int v, long id, boolean ok, JsonNode result, SlsError error) {

    public static Response success(long id, JsonNode result) {
        return new Response(Protocol.VERSION, id, true, result, null);
    }

    public static Response failure(long id, SlsError error) {
        return new Response(Protocol.VERSION, id, false, null, error);
    }
}
