package org.sls.tests;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The test workloads: C programs under {@code resources/workloads/} compiled with gcc once per
 * test run, and helpers to watch the report files they append to. Thread-safe.
 */
public final class Workloads {
    private static final Map<String, Path> BUILT = new ConcurrentHashMap<>();
    private static Path dir;

    private Workloads() {
    }

    /** The compiled program {@code name} (from {@code workloads/NAME.c}). */
    public static synchronized Path binary(String name, String... gccFlags) {
        return BUILT.computeIfAbsent(name, n -> compile(n, gccFlags));
    }

    private static Path compile(String name, String... flags) {
        try {
            if (dir == null) {
                dir = Files.createTempDirectory("sls-workloads");
                dir.toFile().deleteOnExit();
            }
            Path src = dir.resolve(name + ".c");
            try (InputStream in = Workloads.class.getResourceAsStream("/workloads/" + name + ".c")) {
                if (in == null) {
                    throw new IllegalArgumentException("no workload " + name);
                }
                Files.copy(in, src);
            }
            Path bin = dir.resolve(name);
            List<String> cmd = new java.util.ArrayList<>(List.of("gcc", "-O1", "-g", "-o", bin.toString(), src.toString()));
            cmd.addAll(List.of(flags));
            CliResult r = Sls.run(cmd, Duration.ofMinutes(2));
            if (r.exit() != 0) {
                throw new IllegalStateException("gcc failed for " + name + ": " + r.all());
            }
            bin.toFile().deleteOnExit();
            src.toFile().deleteOnExit();
            return bin;
        } catch (IOException e) {
            throw new IllegalStateException("cannot build workload " + name + ": " + e.getMessage(), e);
        }
    }

    /** Lines of a report file, empty when it does not exist yet. */
    public static List<String> lines(Path report) {
        try {
            return Files.exists(report) ? Files.readAllLines(report) : List.of();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** Waits until a line of the report satisfies {@code p}; returns it. */
    public static String awaitLine(Path report, Predicate<String> p, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            List<String> l = lines(report);
            for (int i = l.size() - 1; i >= 0; i--) {
                if (p.test(l.get(i))) {
                    return l.get(i);
                }
            }
            Sls.sleep(20);
        }
        throw new AssertionError("no line in " + report + " matched within " + timeout + "; it holds:\n" + String.join("\n", lines(report)));
    }

    /** The number of lines now in the report. */
    /**
     * The report's last complete line (one the workload finished writing), read once: a report read
     * twice (its lines, then its count) may have grown in between.
     */
    public static String lastLine(Path report) {
        String text;
        try {
            text = Files.readString(report);
        } catch (IOException e) {
            throw new AssertionError("cannot read " + report + ": " + e, e);
        }
        int end = text.lastIndexOf('\n');
        if (end < 0) {
            throw new AssertionError(report + " has no complete line yet");
        }
        return text.substring(text.lastIndexOf('\n', end - 1) + 1, end);
    }

    public static int count(Path report) {
        return lines(report).size();
    }

    /** Waits until the report grows past {@code lines} lines: the workload runs. */
    public static void awaitGrowth(Path report, int lines, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (count(report) > lines) {
                return;
            }
            Sls.sleep(20);
        }
        throw new AssertionError(report + " did not grow past " + lines + " lines within " + timeout);
    }

    /** The value of {@code key=} in a report line. */
    public static long field(String line, String key) {
        for (String part : line.split(" ")) {
            if (part.startsWith(key + "=")) {
                return Long.parseLong(part.substring(key.length() + 1));
            }
        }
        throw new IllegalArgumentException("no " + key + "= in: " + line);
    }

    /**
     * The pid a driver program (a python3 parent of the workload) prints as its first line, read
     * from its standard output, which is closed afterwards.
     */
    public static long reportedPid(Process driver) throws IOException {
        try (java.io.BufferedReader out = new java.io.BufferedReader(new java.io.InputStreamReader(driver.getInputStream()))) {
            String line = out.readLine();
            if (line == null) {
                throw new AssertionError("driver pid " + driver.pid() + " ended without printing its child's pid");
            }
            return Long.parseLong(line.trim());
        }
    }

    /** Ends a process by pid: SIGKILL, then waits until /proc no longer shows it running. */
    public static void kill(long pid) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            Sls.sleep(20);
        }
    }

    /** Waits until /proc/PID is gone (a SIGKILLed orphan's zombie may hold its PID a few seconds). */
    public static void awaitGone(long pid, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline && Files.exists(Path.of("/proc/" + pid))) {
            Sls.sleep(50);
        }
        if (Files.exists(Path.of("/proc/" + pid))) {
            String status;
            try {
                status = Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream()
                        .filter(l -> l.startsWith("State:") || l.startsWith("PPid:") || l.startsWith("TracerPid:"))
                        .map(l -> l.replaceAll("\\s+", " ")).toList().toString();
            } catch (java.io.IOException e) {
                status = "(status unreadable: " + e.getMessage() + ")";
            }
            throw new AssertionError("pid " + pid + " still exists after " + timeout + ": " + status);
        }
    }
}
