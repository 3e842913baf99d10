package org.sls.slsd.linux;

import java.io.File;
import jnr.ffi.Pointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.sls.slsd.linux.LinuxSyscalls.*;

/**
 * Reaps slsd's own children that exited, each by its specific pid: never {@code waitpid(-1)},
 * which would steal ptrace stops from the checkpoint engine and children from the JDK. A child that
 * is in a ptrace stop is only looked at ({@code WNOWAIT}), never consumed, and a dead one that
 * is still traced is left to its tracer for a while; so is any process that died traced by slsd,
 * after which this thread takes the death its tracer never waited for (see {@link #reapOrphans}),
 * so that its real parent can reap it. Thread-safe; one daemon
 * thread waits in poll(2) on a pidfd per watched child (readable once it has exited) and an
 * eventfd that {@link #watch} writes, so an idle slsd does not wake up to poll: slsd checkpointing
 * a server every 10 ms spent a tenth of its CPU time here when this thread polled every pid, and
 * scanned /proc for orphans, on a timer.
 */
public final class Reaper implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Reaper.class);
    /** Exit status reported when another waiter (the engine) reaped the child first. */
    public static final int UNKNOWN_STATUS = -1;
    /** How often orphan zombies are looked for (only when some child of slsd is waitable at all). */
    private static final long ORPHAN_SCAN_MS = 500;
    /** Poll interval for a child that has no pidfd, or whose pidfd says exited before it can be reaped. */
    private static final long FALLBACK_POLL_MS = 10;
    /** How long a dead child that slsd traces is left to its tracer before this thread reaps it. */
    private static final long TRACER_GRACE_NANOS = 50_000_000;
    private final Map<Integer, CompletableFuture<Integer>> watched = new ConcurrentHashMap<>();
    private final int wake;
    private boolean wakeClosed;
    private final Thread thread;
    private volatile boolean running = true;

    public Reaper() {
        wake = FdCalls.eventfd(0, O_CLOEXEC | O_NONBLOCK);
        thread = new Thread(this::loop, "sls-reaper");
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Watches a child of slsd; the future completes with its wait status (or -1) once reaped. A pid
     * whose earlier holder was already reaped (a restore under the original pid) is watched anew.
     */
    public CompletableFuture<Integer> watch(int pid) {
        CompletableFuture<Integer> f = watched.compute(pid, (p, old) -> old == null || old.isDone() ? new CompletableFuture<>() : old);
        wakeUp();
        return f;
    }

    public boolean watching(int pid) {
        CompletableFuture<Integer> f = watched.get(pid);
        return f != null && !f.isDone();
    }

    /** Waits until the watched child has been reaped; false on timeout. */
    public boolean awaitExit(int pid, Duration timeout) {
        try {
            watch(pid).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException e) {
            return true;
        }
    }

    /** Makes the thread look at the watched pids again; nothing once the eventfd is closed. */
    private synchronized void wakeUp() {
        if (wakeClosed) {
            return;
        }
        Pointer one = Sys.alloc(8);
        one.putLong(0, 1);
        Sys.raw(SYS_WRITE, wake, one.address(), 8, 0, 0, 0);
        Sys.keep(one);
    }

    private synchronized void closeWake() {
        wakeClosed = true;
        Linux.close(wake);
    }

    /**
     * A watched child, the pidfd that tells when it has exited (-1: none, polled instead), and
     * when it was first seen dead but still traced by a thread of slsd (0: not so).
     */
    private record Watch(int pid, CompletableFuture<Integer> future, int pidfd, long tracedDeadSince) {}

    private void loop() {
        Pointer info = Sys.alloc(256);
        Pointer drain = Sys.alloc(8);
        Map<Integer, Watch> open = new HashMap<>();
        Set<Integer> zombiesSeen = new HashSet<>();
        long nextScan = System.nanoTime() + ORPHAN_SCAN_MS * 1_000_000;
        Pointer fds = Sys.alloc(8 * 16);
        long capacity = 16;
        try {
            while (running) {
                boolean pollSoon = false;
                // pidfds for newly watched children; none kept for a future that is done or replaced
                for (Map.Entry<Integer, CompletableFuture<Integer>> e : watched.entrySet()) {
                    Watch w = open.get(e.getKey());
                    if (w != null && w.future() != e.getValue()) {
                        close(open.remove(e.getKey()));
                        w = null;
                    }
                    if (w == null && !e.getValue().isDone()) {
                        long fd = Sys.raw(SYS_PIDFD_OPEN, e.getKey(), 0, 0, 0, 0, 0);
                        open.put(e.getKey(), new Watch(e.getKey(), e.getValue(), (int) Math.max(fd, -1), 0));
                    }
                }
                List<Watch> live = new ArrayList<>();
                for (Watch w : open.values()) {
                    if (w.pidfd() < 0) {
                        // gone already (ECHILD), not a pidfd's to tell, or dead and left to its tracer a while
                        poll(w.pid(), w.future(), info,
                                w.tracedDeadSince() == 0 || System.nanoTime() - w.tracedDeadSince() > TRACER_GRACE_NANOS);
                        pollSoon |= !w.future().isDone();
                    }
                    if (!w.future().isDone() && w.pidfd() >= 0) {
                        live.add(w);
                    }
                }
                open.values().removeIf(w -> {
                    if (w.future().isDone()) {
                        close(w);
                        return true;
                    }
                    return false;
                });
                long untilScan = Math.max(0, (nextScan - System.nanoTime()) / 1_000_000);
                int timeout = (int) (pollSoon ? Math.min(FALLBACK_POLL_MS, untilScan) : untilScan);
                if (live.size() + 1 > capacity) {
                    capacity = 2L * (live.size() + 1);
                    fds = Sys.alloc(8 * capacity);
                }
                fds.putInt(0, wake);
                fds.putShort(4, POLLIN);
                for (int i = 0; i < live.size(); i++) {
                    fds.putInt(8L * (i + 1), live.get(i).pidfd());
                    fds.putShort(8L * (i + 1) + 4, POLLIN);
                }
                long n = Sys.raw(SYS_POLL, fds.address(), live.size() + 1, timeout, 0, 0, 0);
                if (n > 0 && fds.getShort(6) != 0) {
                    Sys.raw(SYS_READ, wake, drain.address(), 8, 0, 0, 0);
                }
                for (int i = 0; n > 0 && i < live.size(); i++) {
                    if (fds.getShort(8L * (i + 1) + 6) != 0) {
                        Watch w = live.get(i);
                        poll(w.pid(), w.future(), info, false);
                        if (!w.future().isDone()) {
                            // exited, but traced: its tracer may be waiting for that death (see
                            // poll); or not ours to reap yet (another tracer holds it): on a timer
                            close(open.remove(w.pid()));
                            open.put(w.pid(), new Watch(w.pid(), w.future(), -1, System.nanoTime()));
                        }
                    }
                }
                if (System.nanoTime() - nextScan >= 0) {
                    zombiesSeen = anyWaitable(info) ? reapOrphans(zombiesSeen, info) : new HashSet<>();
                    nextScan = System.nanoTime() + ORPHAN_SCAN_MS * 1_000_000;
                }
            }
        } finally {
            open.values().forEach(Reaper::close);
            closeWake();
        }
    }

    private static void close(Watch w) {
        if (w != null && w.pidfd() >= 0) {
            Linux.close(w.pidfd());
        }
    }

    /**
     * Whether any child (or tracee) of slsd could be waited for now: looked at without consuming it.
     * False spares the /proc walk of {@link #reapOrphans} on a host where slsd has no zombie.
     */
    private static boolean anyWaitable(Pointer info) {
        info.setMemory(0, 128, (byte) 0);
        long r = Sys.raw(SYS_WAITID, P_ALL, 0, info.address(), WEXITED | WNOHANG | WNOWAIT | __WALL, 0, 0);
        return r == 0 && info.getInt(16) != 0;
    }

    /**
     * Reaps the zombies that are slsd's to wait for and that nobody else will, once seen in two
     * scans in a row:
     * <ul>
     *   <li>its children nobody watches: slsd is a child subreaper, and processes of restored trees
     *       whose parent died are reparented to it (the JDK waits for its own children at once, so
     *       they never stay zombies that long);</li>
     *   <li>processes of others that died while a thread of slsd traced them and that this thread
     *       never waited for: such a death is reported to the tracer first, and until the tracer
     *       has waited for it the real parent cannot reap the zombie, which keeps its pid for as
     *       long as slsd runs. The engine waits for every tracee that dies while frozen (see
     *       {@code FrozenTree#thaw}), but only for a while.</li>
     * </ul>
     */
    private Set<Integer> reapOrphans(Set<Integer> seenBefore, Pointer info) {
        Set<Integer> zombies = new HashSet<>();
        int self = Linux.getpid();
        File[] entries = new File("/proc").listFiles();
        if (entries == null) {
            return zombies;
        }
        for (File f : entries) {
            String name = f.getName();
            if (name.isEmpty() || !Character.isDigit(name.charAt(0))) {
                continue;
            }
            int pid = Integer.parseInt(name);
            ProcStat st;
            try {
                st = ProcFs.stat(pid);
            } catch (RuntimeException gone) {
                continue;
            }
            if (st.state() != 'Z' || watching(pid)) {
                continue;
            }
            boolean child = st.ppid() == self;
            if (!child && !tracedBySlsd(pid)) {
                continue;
            }
            if (seenBefore.contains(pid)) {
                long r = Sys.raw(SYS_WAITID, P_PID, pid, info.address(), WEXITED | WNOHANG | __WALL, 0, 0);
                if (child) {
                    log.debug("reaped orphan pid {}", pid);
                } else if (r == 0) {
                    log.warn("pid {} died traced by slsd and was not waited for: its death is now its parent's"
                            + " (pid {}) to reap", pid, st.ppid());
                }
            } else {
                zombies.add(pid);
            }
        }
        return zombies;
    }

    /**
     * Reaps {@code pid} if it has exited. A dead child that a thread of slsd still traces is left
     * alone unless {@code evenIfTraced}: its tracer may be blocked waiting for that death (a traced
     * spawn whose wrapper dies before its exec), and taking it would fail that wait with ECHILD; a
     * tracer that does not wait (the process was killed while frozen, between two of the engine's
     * waits) leaves it to this thread once {@link #TRACER_GRACE_NANOS} have passed.
     */
    private void poll(int pid, CompletableFuture<Integer> f, Pointer info, boolean evenIfTraced) {
        info.setMemory(0, 128, (byte) 0);
        long r = Sys.raw(SYS_WAITID, P_PID, pid, info.address(), WEXITED | WNOHANG | WNOWAIT | __WALL, 0, 0);
        if (r == -Errno.ECHILD) {
            f.complete(UNKNOWN_STATUS);
            return;
        }
        if (r < 0 || info.getInt(16) != pid) {
            return;
        }
        int code = info.getInt(8);
        if (code != CLD_EXITED && code != CLD_KILLED && code != CLD_DUMPED) {
            return; // stopped or traced: not ours to consume
        }
        if (!evenIfTraced && traced(pid)) {
            return;
        }
        int status = info.getInt(24);
        r = Sys.raw(SYS_WAITID, P_PID, pid, info.address(), WEXITED | WNOHANG | __WALL, 0, 0);
        if (code == CLD_EXITED) {
            log.debug("reaped pid {}: exited with status {}", pid, status);
        } else {
            log.info("reaped pid {}: killed by signal {}{}", pid, status, code == CLD_DUMPED ? " (core dumped)" : "");
        }
        f.complete(code == CLD_EXITED ? status << 8 : status);
    }

    /** Whether a thread of slsd traces {@code pid}. */
    private static boolean tracedBySlsd(int pid) {
        int tracer = tracer(pid);
        return tracer != 0 && new File("/proc/self/task/" + tracer).exists();
    }

    /** Whether {@code pid} is traced (a zombie still names its tracer until that has waited for it). */
    private static boolean traced(int pid) {
        return tracer(pid) != 0;
    }

    /** The tid of {@code pid}'s tracer; 0 when it has none, or is gone (reaped meanwhile: the wait says so). */
    private static int tracer(int pid) {
        try {
            return ProcFs.tracerPid(pid);
        } catch (RuntimeException gone) {
            return 0;
        }
    }

    @Override
    public void close() {
        running = false;
        wakeUp();
        thread.interrupt();
    }
}
