package org.sls.slsd.linux;

/**
 * The fields of /proc/PID/stat slsd uses. Immutable. Address fields are 0 unless the reader may
 * ptrace-read the process.
 */
public record ProcStat(String comm, char state, int ppid, int pgrp, int session, long flags, int numThreads,
                       long startTime, long startCode, long endCode, long startStack, long startData,
                       long endData, long startBrk, long argStart, long argEnd, long envStart, long envEnd,
                       long exitCode) {
    /** PF_KTHREAD in the flags field. */
    public static final long PF_KTHREAD = 0x00200000;

    public boolean kernelThread() { return (flags & PF_KTHREAD) != 0; }

    /** A zombie (or dead): it has exited and waits to be reaped. */
    public boolean exited() { return state == 'Z' || state == 'X'; }

    static ProcStat parse(String s) {
        int open = s.indexOf('(');
        int close = s.lastIndexOf(')');
        String comm = s.substring(open + 1, close);
        String[] f = s.substring(close + 2).trim().split(" ");
        return new ProcStat(comm, f[0].charAt(0), i(f, 1), i(f, 2), i(f, 3), l(f, 6), i(f, 17), l(f, 19),
                l(f, 23), l(f, 24), l(f, 25), l(f, 42), l(f, 43), l(f, 44), l(f, 45), l(f, 46), l(f, 47),
                l(f, 48), l(f, 49));
    }

    private static int i(String[] f, int idx) { return (int) l(f, idx); }

    private static long l(String[] f, int idx) {
        return idx < f.length ? Long.parseUnsignedLong(f[idx]) : 0;
    }
}
