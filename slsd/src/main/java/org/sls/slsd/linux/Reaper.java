package org.sls.slsd.linux;

import java.io.File;
import jnr.ffi.Pointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashSet;
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
 * is in a ptrace stop is only looked at ({@code WNOWAIT}), never consumed. Thread-safe; one daemon
 * thread polls the watched pids.
 */
public final class Reaper implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Reaper.class);
    /** Exit status reported when another waiter (the engine) reaped the child first. */
    public static final int UNKNOWN_STATUS = -1;
    /** Orphan zombies are looked for every this many 10 ms rounds. */
    private static final int ORPHAN_SCAN_ROUNDS = 50;
    private final Map<Integer, CompletableFuture<Integer>> watched = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean running = true;

    public Reaper() {
        thread = new Thread(this::loop, "sls-reaper");
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Watches a child of slsd; the future completes with its wait status (or -1) once reaped. A pid
     * whose earlier holder was already reaped (a restore under the original pid) is watched anew.
     */
    public CompletableFuture<Integer> watch(int pid) {
        return watched.compute(pid, (p, f) -> f == null || f.isDone() ? new CompletableFuture<>() : f);
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

    private void loop() {
        Pointer info = Sys.alloc(256);
        int round = 0;
        Set<Integer> zombiesSeen = new HashSet<>();
        while (running) {
            for (Map.Entry<Integer, CompletableFuture<Integer>> e : watched.entrySet()) {
                if (!e.getValue().isDone()) {
                    poll(e.getKey(), e.getValue(), info);
                }
            }
            if (++round % ORPHAN_SCAN_ROUNDS == 0) {
                zombiesSeen = reapOrphans(zombiesSeen, info);
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException ex) {
                return;
            }
        }
    }

    /**
     * slsd is a child subreaper: processes of restored trees whose parent died are reparented to
     * it, and nobody watches them. Reaps zombie children of slsd seen in two scans in a row; the
     * JDK's own children are waited for by the JDK at once, so they never stay zombies that long.
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
            if (st.ppid() != self || st.state() != 'Z' || watching(pid)) {
                continue;
            }
            if (seenBefore.contains(pid)) {
                Sys.raw(SYS_WAITID, P_PID, pid, info.address(), WEXITED | WNOHANG | __WALL, 0, 0);
                log.debug("reaped orphan pid {}", pid);
            } else {
                zombies.add(pid);
            }
        }
        return zombies;
    }

    private void poll(int pid, CompletableFuture<Integer> f, Pointer info) {
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
        int status = info.getInt(24);
        r = Sys.raw(SYS_WAITID, P_PID, pid, info.address(), WEXITED | WNOHANG | __WALL, 0, 0);
        log.debug("reaped pid {} (code {}, status {})", pid, code, status);
        f.complete(code == CLD_EXITED ? status << 8 : status);
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
    }
}
