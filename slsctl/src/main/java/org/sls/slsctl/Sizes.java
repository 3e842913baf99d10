package org.sls.slsctl;

import picocli.CommandLine;

import java.util.Locale;

/**
 * Parses sizes such as {@code 512M}, {@code 4G}, {@code 10GiB} or a plain byte count. Stateless.
 */
public final class Sizes implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        return parse(value);
    }

    /** The size in bytes; IllegalArgumentException naming the value when it is not a size. */
    public static long parse(String value) {
        String v = value.trim().toUpperCase(Locale.ROOT);
        if (v.endsWith("IB")) {
            v = v.substring(0, v.length() - 2);
        } else if (v.endsWith("B") && v.length() > 1 && !Character.isDigit(v.charAt(v.length() - 2))) {
            v = v.substring(0, v.length() - 1);
        }
        long mult = 1;
        if (!v.isEmpty()) {
            int i = "KMGTP".indexOf(v.charAt(v.length() - 1));
            if (i >= 0) {
                mult = 1L << (10 * (i + 1));
                v = v.substring(0, v.length() - 1);
            }
        }
        try {
            long n = Long.parseLong(v);
            if (n <= 0) {
                throw new IllegalArgumentException("size must be positive: " + value);
            }
            return Math.multiplyExact(n, mult);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("not a size: '" + value + "' (use e.g. 512M, 4G)");
        }
    }
}
