/**
 * Capture (DESIGN section 3): {@link org.sls.slsd.capture.Freezer} stops a tree,
 * {@link org.sls.slsd.capture.StateCapture} reads each process's kernel state (by /proc, ptrace and
 * injected syscalls), {@link org.sls.slsd.capture.FdCapture} its fds (one class per kind in
 * {@code capture.fd}), {@link org.sls.slsd.capture.MemoryCapture} decides which pages to save
 * (with a {@link org.sls.slsd.capture.DirtyTracker}: userfaultfd write-protect or full) and copies them
 * into {@link org.sls.slsd.capture.Staging}; the {@link org.sls.slsd.capture.EpochPlan} is written to
 * the store after the tree runs again. {@link org.sls.slsd.capture.MemoryLineage} carries, from one
 * checkpoint to the next, which object holds each region and which pages it has.
 */
package org.sls.slsd.capture;
