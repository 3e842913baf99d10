package org.sls.slsd.checkpoint.manifest;

import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;

/**
 * One POSIX timer of a process (timer_create(2)): what /proc/PID/timers tells (id, clock,
 * notification) and what timer_gettime(2), injected while the process was frozen, returned. The
 * time left is relative to the freeze, so a restore arms it relative to the restore: the time the
 * process was away does not count, and after a reboot the timer fires late, never not at all (as
 * CRIU does). Immutable.
 *
 * @param id         the timer's id (timer_t as the kernel numbers it), restored as the same id
 * @param clock      the clockid it was created on, as the kernel keeps it (a CPU-time clock is negative)
 * @param notification how expiries are told
 * @param signal     the signal number (recorded for SIGEV_NONE too: the kernel keeps it)
 * @param value      sigev_value, the whole 64 bits
 * @param targetTid  the thread signalled for {@link Notify#THREAD_ID}, else 0
 * @param valueNs    time left until the next expiry, 0 when disarmed
 * @param intervalNs the period, 0 for a one-shot timer
 */
public record PosixTimerImage(int id, int clock, Notify notification, int signal,
                              @JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long value,
                              int targetTid, long valueNs, long intervalNs) {

    /** sigev_notify, with the kernel's constants. */
    public enum Notify {
        /** SIGEV_SIGNAL: a signal to the process */
        SIGNAL(0),
        /** SIGEV_NONE: nothing; the process polls with timer_gettime */
        NONE(1),
        /** SIGEV_THREAD_ID: a signal to one thread (also what glibc's SIGEV_THREAD becomes) */
        THREAD_ID(4);

        public final int sigevNotify;

        Notify(int sigevNotify) {
            this.sigevNotify = sigevNotify;
        }
    }

    /** Whether it is armed (a disarmed timer is recreated and left disarmed). */
    public boolean armed() {
        return valueNs != 0;
    }
}
