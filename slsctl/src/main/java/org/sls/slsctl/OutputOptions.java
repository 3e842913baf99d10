package org.sls.slsctl;

import picocli.CommandLine.Option;

/**
 * Mixin: how to print results. {@code --json} for programs, {@code -H} for scripts that split on
 * tabs, {@code -p} for exact numbers; a table for people otherwise. Not thread-safe.
 */
public final class OutputOptions {
    @Option(names = "--json", description = "Print JSON.")
    boolean json;
    @Option(names = "-H", description = "Scripting mode: no header, fields separated by a tab.")
    boolean noHeader;
    @Option(names = "-p", description = "Print exact numbers (bytes, microseconds) instead of rounded ones.")
    boolean exact;
}
