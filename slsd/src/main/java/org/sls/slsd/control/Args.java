package org.sls.slsd.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.sls.libsls.protocol.ErrorCode;
import org.sls.libsls.protocol.SlsException;

import java.util.Optional;

/**
 * Typed access to request arguments; a missing or mistyped argument becomes INVALID_ARGUMENT
 * naming the argument. Stateless.
 */
public final class Args {
    private Args() {
    }

    public static String string(ObjectNode args, String name) {
        return optString(args, name).orElseThrow(() -> invalid("missing argument \"" + name + "\""));
    }

    public static Optional<String> optString(ObjectNode args, String name) {
        JsonNode n = args.get(name);
        if (n == null || n.isNull()) {
            return Optional.empty();
        }
        if (!n.isTextual()) {
            throw invalid("argument \"" + name + "\" must be a string");
        }
        return Optional.of(n.textValue());
    }

    public static long optLong(ObjectNode args, String name, long dflt) {
        JsonNode n = args.get(name);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isIntegralNumber() || !n.canConvertToLong()) {
            throw invalid("argument \"" + name + "\" must be an integer");
        }
        return n.longValue();
    }

    public static long longArg(ObjectNode args, String name) {
        if (!args.hasNonNull(name)) {
            throw invalid("missing argument \"" + name + "\"");
        }
        return optLong(args, name, 0);
    }

    public static boolean optBool(ObjectNode args, String name, boolean dflt) {
        JsonNode n = args.get(name);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isBoolean()) {
            throw invalid("argument \"" + name + "\" must be true or false");
        }
        return n.booleanValue();
    }

    public static SlsException invalid(String message) {
        return new SlsException(ErrorCode.INVALID_ARGUMENT, message);
    }
}
