package org.sls.slsd.linux;

/**
 * A decoded wait status of one task (from wait4). Immutable.
 *
 * @param pid the task that changed state
 * @param raw the raw status word
 */
public record WaitStatus(int pid, int raw) {
    public boolean exited() { return (raw & 0x7f) == 0; }
    public int exitCode() { return (raw >> 8) & 0xff; }
    public boolean signaled() { return ((raw & 0x7f) + 1) >> 1 > 0 && !stopped(); }
    public int termSignal() { return raw & 0x7f; }
    public boolean stopped() { return (raw & 0xff) == 0x7f; }
    public int stopSignal() { return (raw >> 8) & 0xff; }
    /** PTRACE_EVENT_* of a ptrace event stop, 0 otherwise. */
    public int event() { return (raw >> 16) & 0xff; }
    public boolean gone() { return exited() || signaled(); }
    /** A syscall-enter/exit stop (with PTRACE_O_TRACESYSGOOD). */
    public boolean syscallStop() { return stopped() && stopSignal() == (LinuxSyscalls.SIGTRAP | 0x80); }
    /** PTRACE_EVENT_STOP: an interrupt or group stop. */
    public boolean eventStop() { return stopped() && event() == LinuxSyscalls.PTRACE_EVENT_STOP; }
    /** A signal-delivery stop: the signal was dequeued and waits for the tracer's verdict. */
    public boolean signalDeliveryStop() { return stopped() && event() == 0 && !syscallStop(); }

    @Override
    public String toString() {
        if (exited()) return "pid " + pid + " exited " + exitCode();
        if (signaled()) return "pid " + pid + " killed by signal " + termSignal();
        if (stopped()) return "pid " + pid + " stopped sig " + stopSignal() + " event " + event();
        return "pid " + pid + " status 0x" + Integer.toHexString(raw);
    }
}
