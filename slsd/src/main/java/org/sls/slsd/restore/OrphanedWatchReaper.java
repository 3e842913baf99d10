package org.sls.slsd.restore;

import org.sls.slsd.linux.NativeException;
import org.sls.slsd.linux.Ptrace;
import org.sls.slsd.linux.RestoreCalls;
import org.sls.slsd.linux.WaitStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reaps restored roots (slsd's children) that the daemon's {@link org.sls.slsd.linux.Reaper}
 * cannot watch: its {@code watch(pid)} hands back the finished watch of the process that had the
 * PID before (the checkpointed original, reaped when it died), so a restored process under the
 * same PID would stay a zombie and keep its PID from the next restore. Polls its few pids with
 * {@code wait4(pid, WNOHANG)}, which reports exits only (never stops: the processes are no longer
 * traced). Thread-safe; one daemon thread, started on first use.
 */
final class OrphanedWatchReaper implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OrphanedWatchReaper.class);
    private final Set<Integer> pids = ConcurrentHashMap.newKeySet();
    private Thread thread;
    private volatile boolean running = true;

    synchronized void watch(int pid) {
        pids.add(pid);
        if (thread == null) {
            thread = new Thread(this::loop, "sls-restore-reaper");
            thread.setDaemon(true);
            thread.start();
        }
    }

    private void loop() {
        while (running) {
            for (int pid : pids) {
                try {
                    WaitStatus st = Ptrace.wait(pid, RestoreCalls.WNOHANG);
                    if (st != null && st.gone()) {
                        pids.remove(pid);
                        log.debug("reaped restored pid {} ({})", pid, st);
                    }
                } catch (NativeException e) {
                    pids.remove(pid); // ECHILD: someone else reaped it
                }
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override
    public synchronized void close() {
        running = false;
        if (thread != null) {
            thread.interrupt();
        }
    }
}
