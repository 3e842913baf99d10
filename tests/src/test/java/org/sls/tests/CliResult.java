package org.sls.tests;

/**
 * What one run of a command printed and returned. Immutable.
 */
public record CliResult(int exit, String out, String err) {
    /** Everything printed, for assertion messages. */
    public String all() {
        return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
}
