package org.sls.slsctl;

import java.io.PrintStream;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A progress line on stderr while a long operation (a first full checkpoint, a restore of GiBs)
 * waits for slsd: "checkpoint of web: writing 1.2 GiB of 3.0 GiB (40%), 3.5 s", rewritten in place
 * every half second from slsd's {@code progress} request (asked on a second connection), erased at
 * the end. Only on a terminal: when stdin or stdout is not one, nothing is printed. Not
 * thread-safe (one per command).
 */
final class Progress {
    private static final long FIRST_MILLIS = 700;

    private Progress() {
    }

    /** Runs {@code work}, showing {@code what} and the time elapsed while it lasts. */
    static <T> T run(String what, Callable<T> work) throws Exception {
        return run(what, null, work);
    }

    /**
     * Runs {@code work}, showing {@code what}, the time elapsed and, when {@code progress} is given,
     * what it reports: the stage and the bytes done of the total.
     */
    static <T> T run(String what, java.util.function.Supplier<String> progress, Callable<T> work) throws Exception {
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
        int[] width = {0};
        Future<?> tick = ticker.scheduleAtFixedRate(() -> {
            shown[0] = true;
            String detail = "";
            if (progress != null) {
                try {
                    String d = progress.get();
                    detail = d == null || d.isEmpty() ? "" : d + ", ";
                } catch (RuntimeException e) {
                    detail = ""; // an slsd without the progress request: elapsed time only
                }
            }
            String line = String.format("%s: %s%.1f s", what, detail, (System.nanoTime() - start) / 1e9);
            err.print("\r" + line + " ".repeat(Math.max(1, width[0] - line.length())));
            width[0] = Math.max(width[0], line.length() + 1);
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
                err.print("\r" + " ".repeat(Math.max(width[0], what.length() + 12)) + "\r");
                err.flush();
            }
        }
    }

    /**
     * The progress of the {@code operation} of {@code partition} as a short phrase ("writing 1.2 GiB of
     * 3.0 GiB (40%)"), asked of slsd on a connection of its own, or "" when none is running.
     */
    static java.util.function.Supplier<String> of(ClientOptions client, String partition, String operation) {
        org.sls.libsls.SlsClient[] c = {null};
        return () -> {
            if (c[0] == null) {
                c[0] = client.connect();
            }
            for (org.sls.libsls.OperationProgress p : c[0].progress(partition)) {
                if (p.operation().equals(operation)) {
                    return describe(p);
                }
            }
            return "";
        };
    }

    static String describe(org.sls.libsls.OperationProgress p) {
        if (p.bytesTotal() <= 0) {
            return p.stage();
        }
        long pct = Math.min(100, p.bytesDone() * 100 / p.bytesTotal());
        return p.stage() + " " + human(p.bytesDone()) + " of " + human(p.bytesTotal()) + " (" + pct + "%)";
    }

    /** 1023 B, 4.0 KiB, 1.2 GiB. */
    static String human(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? bytes + " B" : String.format(java.util.Locale.ROOT, "%.1f %s", v, units[u]);
    }

    /** For callers that must not throw checked exceptions. */
    static <T> T unchecked(String what, Callable<T> work) {
        return unchecked(what, null, work);
    }

    /** As {@link #run(String, java.util.function.Supplier, Callable)}, for callers that must not throw checked exceptions. */
    static <T> T unchecked(String what, java.util.function.Supplier<String> progress, Callable<T> work) {
        try {
            return run(what, progress, work);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }
}
