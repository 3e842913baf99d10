package org.sls.slsd.resources;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The host-wide scans of who holds which pipe ({@link CaptureContext#scanHolders}) that confirm,
 * after a thaw, the answers a checkpoint took from an earlier scan. One thread makes them for every
 * partition, at most one every {@code minIntervalNanos}: a scan reads every fd of every process of
 * the host (milliseconds of CPU), and at 100 checkpoints a second one per checkpoint took more than
 * the checkpoints' own work. A checkpoint waits for the first scan that starts after its thaw
 * before it commits (its store writes go on meanwhile), so several checkpoints share one scan.
 *
 * <p>Thread-safe.
 */
public final class HolderScans implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HolderScans.class);

    private record Request(long after, CompletableFuture<Map<String, Set<Integer>>> answer) {}

    private final long minIntervalNanos;
    private final Object lock = new Object();
    private final List<Request> waiting = new ArrayList<>();
    private final Thread thread;
    private boolean closed;
    private long lastStart;

    public HolderScans(long minIntervalNanos) {
        this.minIntervalNanos = minIntervalNanos;
        this.lastStart = System.nanoTime() - minIntervalNanos;
        this.thread = new Thread(this::run, "sls-holders");
        thread.setDaemon(true);
        thread.start();
    }

    /** A scan started at {@code nanos} ({@link System#nanoTime}) or later. */
    public CompletableFuture<Map<String, Set<Integer>>> after(long nanos) {
        CompletableFuture<Map<String, Set<Integer>>> f = new CompletableFuture<>();
        synchronized (lock) {
            if (closed) {
                f.completeExceptionally(new IllegalStateException("slsd is stopping"));
                return f;
            }
            waiting.add(new Request(nanos, f));
            lock.notifyAll();
        }
        return f;
    }

    private void run() {
        while (true) {
            long start;
            synchronized (lock) {
                try {
                    while (waiting.isEmpty() && !closed) {
                        lock.wait();
                    }
                    long wait;
                    while (!closed && (wait = lastStart + minIntervalNanos - System.nanoTime()) > 0) {
                        lock.wait(wait / 1_000_000, (int) (wait % 1_000_000));
                    }
                } catch (InterruptedException e) {
                    closed = true;
                }
                if (closed) {
                    for (Request r : waiting) {
                        r.answer().completeExceptionally(new IllegalStateException("slsd is stopping"));
                    }
                    waiting.clear();
                    return;
                }
                start = System.nanoTime();
                lastStart = start;
            }
            Map<String, Set<Integer>> scan = null;
            RuntimeException failure = null;
            try {
                scan = CaptureContext.scanHolders();
            } catch (RuntimeException e) {
                failure = e;
                log.warn("scanning /proc for pipe holders: {}", e.toString());
            }
            List<Request> answered = new ArrayList<>();
            synchronized (lock) {
                for (var it = waiting.iterator(); it.hasNext(); ) {
                    Request r = it.next();
                    if (r.after() - start <= 0) {
                        answered.add(r);
                        it.remove();
                    }
                }
            }
            for (Request r : answered) {
                if (failure != null) {
                    r.answer().completeExceptionally(failure);
                } else {
                    r.answer().complete(scan);
                }
            }
        }
    }

    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
            lock.notifyAll();
        }
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
