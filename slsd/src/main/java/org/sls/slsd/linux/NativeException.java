package org.sls.slsd.linux;

/**
 * A system call that failed: names the call, its main argument and the errno, e.g.
 * {@code ptrace(PTRACE_SEIZE, 4242): EPERM (Operation not permitted)}. Unchecked; immutable.
 */
public final class NativeException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String call;
    private final int errno;
    private final String argument;

    public NativeException(String call, int errno, String argument) {
        super(call + "(" + argument + "): " + errnoName(errno) + " (" + errnoDescription(errno) + ")");
        this.call = call;
        this.errno = errno;
        this.argument = argument;
    }

    public String call() { return call; }
    public int errno() { return errno; }
    public String argument() { return argument; }

    /** Symbolic name of an errno value, e.g. "EPERM"; "errno N" when unknown. */
    public static String errnoName(int errno) {
        try {
            jnr.constants.platform.Errno e = jnr.constants.platform.Errno.valueOf(errno);
            return e == null || e.name().startsWith("__") ? "errno " + errno : e.name();
        } catch (RuntimeException ex) {
            return "errno " + errno;
        }
    }

    public static String errnoDescription(int errno) {
        try {
            jnr.constants.platform.Errno e = jnr.constants.platform.Errno.valueOf(errno);
            return e == null ? "unknown" : e.description();
        } catch (RuntimeException ex) {
            return "unknown";
        }
    }
}
