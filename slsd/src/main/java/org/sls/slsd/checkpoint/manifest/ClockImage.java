package org.sls.slsd.checkpoint.manifest;

/**
 * The clocks a process read at the checkpoint: CLOCK_MONOTONIC and CLOCK_BOOTTIME as it saw them
 * (the host's values plus the offsets of the time namespace it was in). A restore after a reboot
 * finds the host's clocks behind these and puts the restored processes into a time namespace whose
 * offsets make their clocks carry on from here (CRIU's approach), so that they never see them go
 * backwards. Immutable.
 *
 * @param monotonicNs CLOCK_MONOTONIC in the process's time namespace, in nanoseconds
 * @param boottimeNs  CLOCK_BOOTTIME in the process's time namespace, in nanoseconds
 */
public record ClockImage(long monotonicNs, long boottimeNs) {}
