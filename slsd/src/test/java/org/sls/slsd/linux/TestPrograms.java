package org.sls.slsd.linux;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Test helper: compiles the C workloads of src/test/resources/workloads with gcc into a temp
 * directory, starts them through {@link Spawner} and ends them by pid. Not thread-safe.
 */
public final class TestPrograms implements AutoCloseable {
    private final Path dir;
    private final Reaper reaper = new Reaper();
    private final List<Integer> started = new ArrayList<>();

    public TestPrograms(Path dir) {
        this.dir = dir;
    }

    public Reaper reaper() { return reaper; }
    public Path dir() { return dir; }

    /** Compiles workloads/NAME.c into dir/NAME (once). */
    public Path compile(String name) throws IOException, InterruptedException {
        Path bin = dir.resolve(name);
        if (Files.exists(bin)) {
            return bin;
        }
        Path src = dir.resolve(name + ".c");
        try (InputStream in = TestPrograms.class.getResourceAsStream("/workloads/" + name + ".c")) {
            if (in == null) {
                throw new IOException("no workload " + name);
            }
            Files.copy(in, src);
        }
        Process p = new ProcessBuilder("gcc", "-O1", "-g", "-pthread", "-o", bin.toString(), src.toString())
                .redirectErrorStream(true).start();
        String outText = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("gcc " + name + ": " + outText);
        }
        return bin;
    }

    /** Starts a compiled workload with its output in dir/NAME.out (returned via outFile). */
    public int start(String name, List<String> args, int uid) throws IOException, InterruptedException {
        Path bin = compile(name);
        List<String> argv = new ArrayList<>();
        argv.add(bin.toString());
        argv.addAll(args);
        int pid = Spawner.spawn(new Spawner.Spec(argv, null, dir.toString(), null,
                dir.resolve(name + ".stdout").toString(), dir.resolve(name + ".stdout").toString(), uid), reaper);
        started.add(pid);
        return pid;
    }

    /** Starts an arbitrary command (python3...). */
    public int startCommand(List<String> argv) {
        int pid = Spawner.spawn(new Spawner.Spec(argv, null, dir.toString(), null,
                dir.resolve("cmd.stdout").toString(), dir.resolve("cmd.stdout").toString(), -1), reaper);
        started.add(pid);
        return pid;
    }

    public void track(int pid) { started.add(pid); }

    /** Waits until a line of the file satisfies the predicate; returns that line. */
    public static String awaitLine(Path file, Predicate<String> p, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (Files.exists(file)) {
                List<String> lines = Files.readAllLines(file);
                for (int i = lines.size() - 1; i >= 0; i--) {
                    if (p.test(lines.get(i))) {
                        return lines.get(i);
                    }
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("timed out waiting in " + file + (Files.exists(file) ? ": " + Files.readString(file) : ""));
    }

    public static int lineCount(Path file) throws IOException {
        return Files.exists(file) ? Files.readAllLines(file).size() : 0;
    }

    /** Kills every started process (and the trees under them) by pid. */
    @Override
    public void close() {
        for (int pid : started) {
            List<Integer> tree = new ArrayList<>();
            collect(pid, tree);
            for (int p : tree) {
                Linux.killIfAlive(p, 9);
            }
        }
        for (int pid : started) {
            reaper.awaitExit(pid, Duration.ofSeconds(5));
        }
        reaper.close();
    }

    private static void collect(int pid, List<Integer> out) {
        out.add(pid);
        try {
            for (int c : ProcFs.children(pid)) {
                collect(c, out);
            }
        } catch (RuntimeException e) {
            // gone
        }
    }

    /** The little-endian 64-bit word at {@code off}, as the C workloads store it. */
    public static long u64(byte[] b, int off) {
        return java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(off);
    }

    /** FNV-1a over 64-bit words, as the C workloads compute it. */
    public static long fnv(byte[] b) {
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        long h = 1469598103934665603L;
        while (bb.remaining() >= 8) {
            h ^= bb.getLong();
            h *= 1099511628211L;
        }
        return h;
    }

    /** A hex number as the workloads print it, with or without 0x. */
    public static long hex(String s) {
        return Long.parseUnsignedLong(s.startsWith("0x") ? s.substring(2) : s, 16);
    }
}
