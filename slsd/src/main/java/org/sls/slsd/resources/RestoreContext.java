package org.sls.slsd.resources;

import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.checkpoint.manifest.ProcessImage;
import org.sls.slsd.linux.FdCalls;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.RestoreCalls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.IntSupplier;

/**
 * The fd side of one restore run: the kernel objects slsd created (or took from a husk) once and
 * installs into every process that holds them, and the husk being worked on. A shared object lives
 * as an fd of slsd until {@link #close()}; a husk gets it with {@code pidfd_getfd} from slsd, which
 * gives it the very same open file description (flags and offset shared, as after a fork). Also
 * drives the stages: {@link #restoreProcess} retries {@link Outcome#BLOCKED} fds until they resolve.
 *
 * <p>Not thread-safe: one per restore run, used on the restore's tracer thread.
 */
public final class RestoreContext implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RestoreContext.class);
    private static final long SYS_PIDFD_OPEN = 434, SYS_PIDFD_GETFD = 438, SYS_FCNTL = 72;
    private static final int F_SETFD = 2, FD_CLOEXEC = 1;

    private final List<ProcessImage> processes;
    private final Map<String, Integer> shared = new LinkedHashMap<>();
    private final Map<String, Object> objects = new LinkedHashMap<>();
    private final int self = Linux.getpid();
    private HuskCalls husk;
    private final Set<Integer> placed = new HashSet<>();

    private final boolean lockHeld;
    private final SharedFiles files;
    private final String partition;
    private final long epoch;
    private java.util.function.IntUnaryOperator restoredPids = pid -> pid;
    private final List<Terminal> terminals = new ArrayList<>();

    public RestoreContext(List<ProcessImage> processes) {
        this(processes, false);
    }

    public RestoreContext(List<ProcessImage> processes, boolean lockHeld) {
        this(processes, lockHeld, new SharedFiles(List.of(), null));
    }

    /**
     * With {@code lockHeld}: the network lock that {@code checkpoint --kill} put on this epoch's
     * connections to outside peers still stands, so they are repaired rather than restored closed.
     * {@code files}: the files whose content the checkpoint holds, made once per run.
     */
    public RestoreContext(List<ProcessImage> processes, boolean lockHeld, SharedFiles files) {
        this(processes, lockHeld, files, "", 0);
    }

    /**
     * As {@link #RestoreContext(List, boolean, SharedFiles)}, for a restore of {@code epoch} of
     * {@code partition} (told to a process that asked for its own checkpoint).
     */
    public RestoreContext(List<ProcessImage> processes, boolean lockHeld, SharedFiles files, String partition,
                          long epoch) {
        this.processes = List.copyOf(processes);
        this.lockHeld = lockHeld;
        this.files = files;
        this.partition = partition;
        this.epoch = epoch;
    }

    /** The partition being restored ("" when not told). */
    public String partition() { return partition; }

    /** The epoch being restored (0 when not told). */
    public long epoch() { return epoch; }

    /** Whether the network lock of this epoch's checkpoint --kill still holds its outside connections. */
    public boolean lockHeld() { return lockHeld; }

    /** The files whose content the checkpoint holds (memfds, deleted files, POSIX shm), made once per run. */
    public SharedFiles files() { return files; }

    /** Sets the run's pid map (checkpointed pid to restored pid, -1 when not restored); identity until then. */
    public void restoredPids(java.util.function.IntUnaryOperator map) {
        this.restoredPids = map;
    }

    /** The restored pid of a checkpointed one, -1 when it is not restored (yet). */
    public int restoredPid(int checkpointedPid) {
        return restoredPids.applyAsInt(checkpointedPid);
    }

    /**
     * Right after the husk became a session leader (before its children are cloned): the
     * controlling terminal of its session, if that was a pseudo-terminal of the checkpoint.
     */
    public void acquireControllingTerminal(HuskCalls h, ProcessImage p, Set<Integer> inCheckpoint) {
        this.husk = h;
        PtyKind.acquireControllingTerminal(p, inCheckpoint, this);
    }

    /** Once the tree stands: the foreground process group of the terminal of the session the husk leads. */
    public void restoreForeground(HuskCalls h, ProcessImage p, Set<Integer> inCheckpoint) {
        this.husk = h;
        PtyKind.restoreForeground(p, inCheckpoint, this);
    }

    /** Keeps a terminal beyond the run (not closed by {@link #close()}): the caller takes it with {@link #takeTerminals()}. */
    void keepTerminal(Terminal t) {
        terminals.add(t);
    }

    /** The terminals made for this run, now the caller's to keep or close. */
    public List<Terminal> takeTerminals() {
        List<Terminal> out = List.copyOf(terminals);
        terminals.clear();
        return out;
    }

    /** Whether a kind of {@link ResourceKinds} restores fds of this kind. */
    public static boolean handles(FdImage.Kind k) {
        return ResourceKinds.all().containsKey(k);
    }

    /**
     * Restores the fds of one process that this package handles, after the engine put the others
     * in place: each kind in turn, then the blocked ones again while any makes progress; then the
     * file locks of all its fds ({@link FileLocks}).
     */
    public void restoreProcess(HuskCalls h, List<FdImage> all) {
        this.husk = h;
        placed.clear();
        List<FdImage> pending = new ArrayList<>();
        for (FdImage fd : all) {
            if (handles(fd.kind())) {
                pending.add(fd);
            } else {
                placed.add(fd.fd());
            }
        }
        while (!pending.isEmpty()) {
            List<FdImage> blocked = new ArrayList<>();
            for (FdImage fd : pending) {
                if (ResourceKinds.all().get(fd.kind()).restore(fd, this) == Outcome.DONE) {
                    placed.add(fd.fd());
                } else {
                    blocked.add(fd);
                }
            }
            if (blocked.size() == pending.size()) {
                FdImage f = blocked.get(0);
                throw new IllegalStateException("pid " + h.checkpointedPid() + " fd " + f.fd() + " (" + f.kind()
                        + "): waits for fds that never came back (" + f.details() + ")");
            }
            pending = blocked;
        }
        FileLocks.retake(all, this);
    }

    /** The husk being restored. */
    public HuskCalls husk() { return husk; }

    /** Every process of the checkpoint (to find the one fd image that carries an object's shared state). */
    public List<ProcessImage> processes() { return processes; }

    /** Whether fd number {@code fd} of the current husk is already in place. */
    public boolean placed(int fd) { return placed.contains(fd); }

    /** An object slsd keeps for the whole run (created by {@code create} the first time a key is met). */
    @SuppressWarnings("unchecked")
    public <T> T object(String key, java.util.function.Supplier<T> create) {
        return (T) objects.computeIfAbsent(key, k -> create.get());
    }

    /** An fd slsd holds for the whole run, made by {@code create} the first time a key is met. */
    public int sharedFd(String key, IntSupplier create) {
        Integer fd = shared.get(key);
        if (fd == null) {
            fd = create.getAsInt();
            shared.put(key, fd);
        }
        return fd;
    }

    /** The fd slsd keeps under {@code key}, if any. */
    public Optional<Integer> kept(String key) {
        return Optional.ofNullable(shared.get(key));
    }

    /** Keeps a copy (same open file) of the husk's fd {@code huskFd} under {@code key}, for other husks. */
    public void keepFromHusk(String key, int huskFd) {
        int pidfd = Linux.pidfdOpen(husk.pid());
        try {
            shared.put(key, Linux.pidfdGetfd(pidfd, huskFd));
        } finally {
            Linux.close(pidfd);
        }
    }

    /** Installs slsd's fd {@code slsdFd} (the same open file) into the husk at {@code fd.fd()}. */
    public void install(int slsdFd, FdImage fd) {
        HuskCalls h = husk;
        int pidfd = (int) h.call("pidfd_open(slsd " + self + ")", SYS_PIDFD_OPEN, self, 0);
        int got;
        try {
            got = (int) h.call("pidfd_getfd(slsd fd " + slsdFd + ") for fd " + fd.fd(), SYS_PIDFD_GETFD, pidfd, slsdFd, 0);
        } finally {
            h.call("close", RestoreCalls.SYS_CLOSE, pidfd);
        }
        place(got, fd);
    }

    /** Moves the husk's fd {@code got} to {@code fd.fd()} with the fd's close-on-exec flag. */
    public void place(int got, FdImage fd) {
        HuskCalls h = husk;
        boolean cloexec = (fd.flags() & FdCalls.O_CLOEXEC) != 0;
        if (got != fd.fd()) {
            h.call("dup3", RestoreCalls.SYS_DUP3, got, fd.fd(), cloexec ? FdCalls.O_CLOEXEC : 0);
            h.call("close", RestoreCalls.SYS_CLOSE, got);
        } else {
            h.call("fcntl(F_SETFD)", SYS_FCNTL, got, F_SETFD, cloexec ? FD_CLOEXEC : 0);
        }
    }

    /** Opens {@code path} in the husk and places it at {@code fd.fd()}. */
    public void openInHusk(String path, int flags, FdImage fd) {
        HuskCalls h = husk;
        byte[] b = path.getBytes(StandardCharsets.UTF_8);
        byte[] c = java.util.Arrays.copyOf(b, b.length + 1);
        int got = (int) h.call("openat " + path, RestoreCalls.SYS_OPENAT, RestoreCalls.AT_FDCWD, h.data(c),
                flags | FdCalls.O_CLOEXEC, 0);
        place(got, fd);
    }

    /** The fd image of the checkpoint that carries the shared state of {@code identity} (the one with {@code key}). */
    public Optional<FdImage> carrier(String identity, String key) {
        for (ProcessImage p : processes) {
            for (FdImage f : p.fds()) {
                if (identity.equals(f.identity()) && f.details() != null && f.details().containsKey(key)) {
                    return Optional.of(f);
                }
            }
        }
        return Optional.empty();
    }

    /**
     * Closes slsd's copies: from now on the restored processes alone hold their objects (EOF works
     * again). Terminals not taken by {@link #takeTerminals()} are closed too.
     */
    @Override
    public void close() {
        for (Terminal t : takeTerminals()) {
            t.close();
        }
        for (int fd : shared.values()) {
            Linux.close(fd);
        }
        for (Object o : objects.values()) {
            if (o instanceof AutoCloseable c && !(o instanceof Terminal)) { // terminals: above
                try {
                    c.close();
                } catch (Exception e) {
                    log.warn("closing {}: {}", o, e.toString());
                }
            }
        }
        shared.clear();
        objects.clear();
    }
}
