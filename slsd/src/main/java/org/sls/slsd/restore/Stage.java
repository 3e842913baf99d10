package org.sls.slsd.restore;

/**
 * What one restore stage reports when asked to run: it ran ({@link #DONE}) or it waits for another
 * stage first ({@link #BLOCKED}, e.g. a child waits for its parent's husk, a process group member
 * for its leader). Stages are retried until all are done or none can progress (CRIU's files.c).
 */
public enum Stage {
    DONE,
    BLOCKED
}
