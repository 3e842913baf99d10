package org.sls.slsctl;

import java.io.PrintStream;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A progress line on stderr while a long operation (a first full checkpoint, a restore of GiBs)
 * waits for slsd: "checkpoint of web: 3.5 s" rewritten in place every half second, erased at the
 * end. Only on a terminal: with stderr redirected nothing is printed. Not thread-safe (one per
 * command).
 */
final class Progress {
    private static final long FIRST_MILLIS = 700;

    private Progress() {
    }

    /** Runs {@code work}, showing {@code what} and the time elapsed while it lasts. */
    static <T> T run(String what, Callable<T> work) throws Exception {
        if (System.console() == null) {
            return work.call();
        }
        PrintStream err = System.err;
        long start = System.nanoTime();
        ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "progress");
            t.setDaemon(true);
            return t;
        });
        boolean[] shown = {false};
        Future<?> tick = ticker.scheduleAtFixedRate(() -> {
            shown[0] = true;
            err.printf("\r%s: %.1f s ", what, (System.nanoTime() - start) / 1e9);
            err.flush();
        }, FIRST_MILLIS, 500, TimeUnit.MILLISECONDS);
        try {
            return work.call();
        } finally {
            tick.cancel(false);
            ticker.shutdown();
            try {
                ticker.awaitTermination(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (shown[0]) {
                err.print("\r" + " ".repeat(what.length() + 12) + "\r");
                err.flush();
            }
        }
    }

    /** For callers that must not throw checked exceptions. */
    static <T> T unchecked(String what, Callable<T> work) {
        try {
            return run(what, work);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }
}
