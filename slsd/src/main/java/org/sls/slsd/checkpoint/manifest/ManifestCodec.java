package org.sls.slsd.checkpoint.manifest;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * JSON encoding of {@link Manifest}: compact (one is written per checkpoint, up to 100 a second;
 * {@link #pretty} indents one for people), unknown fields ignored. Thread-safe.
 */
public final class ManifestCodec {
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private ManifestCodec() {}

    public static byte[] encode(Manifest m) {
        try {
            return MAPPER.writeValueAsBytes(m);
        } catch (IOException e) {
            throw new UncheckedIOException("encoding manifest of epoch " + m.epoch(), e);
        }
    }

    /** The same JSON indented, for people (the snapshot view's manifest.json). */
    public static byte[] pretty(byte[] json) {
        try {
            return MAPPER.writer(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(MAPPER.readTree(json));
        } catch (IOException e) {
            throw new UncheckedIOException("indenting manifest", e);
        }
    }

    /** Decodes a manifest; refuses one written by a newer format version. */
    public static Manifest decode(byte[] json) {
        try {
            Manifest m = MAPPER.readValue(json, Manifest.class);
            if (m.formatVersion() > Manifest.FORMAT_VERSION) {
                throw new IllegalArgumentException("manifest format " + m.formatVersion()
                        + " is newer than this slsd understands (" + Manifest.FORMAT_VERSION + ")");
            }
            return m;
        } catch (IOException e) {
            throw new UncheckedIOException("decoding manifest", e);
        }
    }
}
