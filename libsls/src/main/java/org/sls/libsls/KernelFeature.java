package org.sls.libsls;

/**
 * One kernel feature slsd probed at start. Immutable.
 *
 * @param name      short name ({@code ptrace}, {@code uffd-wp-async}, ...)
 * @param available whether it works here
 * @param detail    what was found, or why it is missing
 */
public record KernelFeature(String name, boolean available, String detail) {
}
