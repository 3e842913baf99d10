package org.sls.libsls.protocol;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One request line: {@code {"v":1,"id":7,"op":"partadd","args":{...}}}. Immutable.
 *
 * @param v    protocol version
 * @param id   request id chosen by the client, echoed in the response
 * @param op   operation wire name
 * @param args operation arguments, never null (an empty object when there are none)
 */
public record Request(int v, long id, String op, ObjectNode args) {
}
