package org.sls.slsctl;

/**
 * slsctl's exit codes, listed in {@code --help}. Stable: scripts rely on them.
 */
public final class ExitCode {
    /** The command did what was asked. */
    public static final int OK = 0;
    /** slsd (or the store) refused or failed the operation; the message says why. */
    public static final int FAILED = 1;
    /** The command line was wrong. */
    public static final int USAGE = 2;
    /** No slsd answers at the socket. */
    public static final int UNREACHABLE = 3;
    /** fsck found damage. */
    public static final int DAMAGED = 4;

    /** The list shown by {@code --help}. */
    static final String[] LIST = {
            "0:success",
            "1:the operation failed (slsd or the store said why)",
            "2:usage error",
            "3:cannot reach slsd",
            "4:fsck found damage"};

    private ExitCode() {
    }
}
