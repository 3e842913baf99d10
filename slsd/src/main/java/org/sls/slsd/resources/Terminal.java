package org.sls.slsd.resources;

import org.sls.slsd.linux.Linux;

import java.util.Set;
import java.util.TreeSet;

/**
 * A pseudo-terminal slsd made for restored processes whose terminal's master was outside the
 * partition (tmux, script, sshd): slsd keeps the master so that {@code slsctl console} can attach
 * to it; the processes hold the slave. Thread-safe: the restore fills it, then consoles use it; at
 * most one console is attached at a time ({@link #tryAttach}).
 */
public final class Terminal implements AutoCloseable {
    private final int master;
    private final String path;
    private final String checkpointedPath;
    private final Set<Integer> holders = new TreeSet<>();
    private int sessionLeader;
    private boolean attached;
    private boolean closed;

    Terminal(int master, String path, String checkpointedPath) {
        this.master = master;
        this.path = path;
        this.checkpointedPath = checkpointedPath;
    }

    /** slsd's fd of the master. */
    public int master() { return master; }

    /** The slave's path ("/dev/pts/7"). */
    public String path() { return path; }

    /** The slave the processes had at checkpoint time ("/dev/pts/3"). */
    public String checkpointedPath() { return checkpointedPath; }

    /** The restored processes holding the slave or having it as their controlling terminal. */
    public synchronized Set<Integer> holders() { return Set.copyOf(holders); }

    synchronized void addHolder(int pid) { holders.add(pid); }

    /** The restored process whose session it is the controlling terminal of, 0 when none. */
    public synchronized int sessionLeader() { return sessionLeader; }

    synchronized void sessionLeader(int pid) {
        sessionLeader = pid;
        holders.add(pid);
    }

    /** Marks a console attached; false when one already is (or the terminal is closed). */
    public synchronized boolean tryAttach() {
        if (attached || closed) {
            return false;
        }
        attached = true;
        return true;
    }

    public synchronized void detach() { attached = false; }

    public synchronized boolean isAttached() { return attached; }

    /** Whether any holder still runs. */
    public synchronized boolean inUse() {
        return holders.stream().anyMatch(org.sls.slsd.linux.ProcFs::exists);
    }

    /** Closes the master: the processes still holding the slave get a hangup. Idempotent. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            Linux.close(master);
        }
    }

    @Override
    public String toString() {
        return path + " (was " + checkpointedPath + ", pids " + holders() + ")";
    }
}
