package org.sls.slsd.checkpoint.manifest;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.SerializerProvider;

import java.io.IOException;

/** Addresses and masks written as "0x..." strings in the manifest so that people can read them. Stateless, thread-safe. */
public final class Hex {
    private Hex() {}

    public static String format(long v) { return "0x" + Long.toHexString(v); }

    public static long parse(String s) {
        if (s.startsWith("0x") || s.startsWith("0X")) {
            return Long.parseUnsignedLong(s.substring(2), 16);
        }
        return Long.parseLong(s);
    }

    /** Jackson serializer: long → "0x..". */
    public static final class Ser extends JsonSerializer<Long> {
        @Override
        public void serialize(Long value, JsonGenerator gen, SerializerProvider p) throws IOException {
            gen.writeString(format(value));
        }
    }

    /** Jackson deserializer: "0x.." or a plain number → long. */
    public static final class De extends JsonDeserializer<Long> {
        @Override
        public Long deserialize(JsonParser p, DeserializationContext ctx) throws IOException {
            if (p.currentToken() == JsonToken.VALUE_NUMBER_INT) {
                return p.getLongValue();
            }
            return parse(p.getValueAsString());
        }
    }
}
