package org.sls.slsd.resources;

/**
 * What one attempt to restore an fd achieved (STYLE: restore as stages that resolve dependencies).
 * Immutable.
 */
public enum Outcome {
    /** the fd is in place */
    DONE,
    /** the fd needs others that are not in place yet (an epoll's targets): tried again after them */
    BLOCKED
}
