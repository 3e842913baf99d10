package org.sls.tests;

import org.sls.libsls.SlsClient;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real sls installation for one test: a store image under a temporary directory, a real
 * {@code slsd} process (a separate JVM, the same main class as {@code bin/slsd}) and the real
 * {@code slsctl} (likewise a separate JVM per call). {@link #close()} stops slsd by its pid, also
 * when the test failed. Not thread-safe.
 */
public final class Sls implements AutoCloseable {
    private static final String JAVA = ProcessHandle.current().info().command().orElse("java");
    private static final String CLASSPATH = System.getProperty("java.class.path");
    /** Where the JVMs of every test load RocksDB's library from (as the launchers' lib/native); see {@link #nativeDir}. */
    private static Path nativeDir;

    private final Path dir;
    private final Path store;
    private final Path socket;
    private final List<String> extraDaemonArgs = new ArrayList<>();
    private Process slsd;
    private Path daemonLog;
    private int daemonStarts;

    private Sls(Path dir) {
        this.dir = dir;
        this.store = dir.resolve("store.img");
        this.socket = dir.resolve("slsd.sock");
    }

    /** Formats a store in {@code dir} (not started). */
    public static Sls format(Path dir, String size) {
        Sls sls = new Sls(dir);
        CliResult r = sls.ctlNoSocket("newfs", "--size", size, sls.store.toString());
        if (r.exit() != 0) {
            throw new IllegalStateException("newfs failed: " + r.all());
        }
        return sls;
    }

    /** Formats a store in {@code dir} and starts slsd on it. */
    public static Sls start(Path dir) {
        Sls sls = format(dir, "256M");
        sls.startDaemon();
        return sls;
    }

    public Path dir() {
        return dir;
    }

    public Path store() {
        return store;
    }

    public Path socket() {
        return socket;
    }

    /** The running slsd, or null. */
    public Process daemon() {
        return slsd;
    }

    /** What slsd logged (stderr) in its latest run. */
    public String daemonLog() {
        try {
            return daemonLog == null ? "" : Files.readString(daemonLog);
        } catch (IOException e) {
            return "(cannot read " + daemonLog + ": " + e.getMessage() + ")";
        }
    }

    private static String readQuietly(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "(cannot read " + file + ": " + e.getMessage() + ")";
        }
    }

    /** The stdout of the latest slsd run: slsd must never write there. */
    public String daemonStdout() throws IOException {
        Path out = dir.resolve("slsd-" + daemonStarts + ".out");
        return Files.exists(out) ? Files.readString(out) : "";
    }

    /** Starts slsd and waits until it answers on its socket. */
    public void startDaemon(String... extraArgs) {
        Process p = launchDaemon(extraArgs);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IllegalStateException("slsd exited with " + p.exitValue() + "; its stderr (" + daemonLog + "):\n"
                        + daemonLog() + "\nits stdout:\n" + readQuietly(dir.resolve("slsd-" + daemonStarts + ".out")));
            }
            try (SlsClient c = SlsClient.connect(socket)) {
                c.hello();
                return;
            } catch (RuntimeException notYet) {
                sleep(50);
            }
        }
        throw new IllegalStateException("slsd did not answer on " + socket + " within 60 s:\n" + daemonLog());
    }

    /** Starts an slsd process without waiting for it (for tests of start-up failures). */
    public Process launchDaemon(String... extraArgs) {
        return launchDaemon(socket, extraArgs);
    }

    /** Starts an slsd process on another socket without waiting for it. */
    public Process launchDaemon(Path socketPath, String... extraArgs) {
        daemonStarts++;
        daemonLog = dir.resolve("slsd-" + daemonStarts + ".log");
        // java.io.tmpdir in the test's directory: whatever a daemon that a test kills leaves there goes with it
        List<String> cmd = new ArrayList<>(List.of(JAVA, "--enable-native-access=ALL-UNNAMED", "-Djava.io.tmpdir=" + dir,
                "-Dsls.native.dir=" + nativeDir(), "-cp", CLASSPATH, "org.sls.slsd.Main", "--store", store.toString(), "--socket", socketPath.toString()));
        cmd.addAll(extraDaemonArgs);
        cmd.addAll(Arrays.asList(extraArgs));
        if (!cmd.contains("--mount")) {
            cmd.add("--no-mount");
        }
        try {
            Process p = new ProcessBuilder(cmd)
                    .redirectError(daemonLog.toFile())
                    .redirectOutput(dir.resolve("slsd-" + daemonStarts + ".out").toFile())
                    .start();
            if (slsd == null || !slsd.isAlive()) {
                slsd = p;
            }
            return p;
        } catch (IOException e) {
            throw new IllegalStateException("cannot start slsd: " + e.getMessage(), e);
        }
    }

    /** Stops slsd with SIGTERM and waits for it; returns its exit code. */
    public int stopDaemon() {
        if (slsd == null) {
            return -1;
        }
        Process p = slsd;
        slsd = null;
        return stop(p);
    }

    /** SIGTERM, then SIGKILL if the process has not ended within 30 s; returns the exit code. */
    public static int stop(Process p) {
        p.destroy();
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
            return p.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            return -1;
        }
    }

    /** Runs slsctl against this installation's socket. */
    public CliResult ctl(String... args) {
        List<String> all = new ArrayList<>(Arrays.asList(args));
        // --socket goes after the subcommand name, where picocli's mixin expects it
        int at = 0;
        while (at < all.size() && all.get(at).startsWith("-")) {
            at++;
        }
        all.add(Math.min(at + 1, all.size()), "--socket=" + socket);
        return ctlNoSocket(all.toArray(String[]::new));
    }

    /**
     * Starts slsctl against this installation's socket without waiting for it, its standard
     * streams piped to the caller (for interactive commands such as {@code console}).
     */
    public Process startCtl(String... args) {
        try {
            return new ProcessBuilder(ctlCommand(args)).start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start slsctl: " + e.getMessage(), e);
        }
    }

    /** The command line that runs slsctl against this installation's socket. */
    public List<String> ctlCommand(String... args) {
        List<String> cmd = new ArrayList<>(List.of(JAVA, "--enable-native-access=ALL-UNNAMED",
                "-Dsls.native.dir=" + nativeDir(), "-cp", CLASSPATH, "org.sls.slsctl.Slsctl", args[0], "--socket=" + socket));
        cmd.addAll(Arrays.asList(args).subList(1, args.length));
        return cmd;
    }

    /**
     * The greatest {@code field} ("epoch", "committedMillis") among partition {@code part}'s
     * committed checkpoints as {@code slsctl listsnaps --json} lists them, 0 when there is none;
     * throws when listsnaps fails.
     */
    public long newestSnapshot(String part, String field) {
        CliResult snaps = ctl("listsnaps", "-o", part, "--json");
        if (snaps.exit() != 0) {
            throw new IllegalStateException("listsnaps -o " + part + " failed: " + snaps.all());
        }
        long newest = 0;
        try {
            for (com.fasterxml.jackson.databind.JsonNode s : org.sls.libsls.protocol.Codec.MAPPER.readTree(snaps.out())) {
                newest = Math.max(newest, s.get(field).longValue());
            }
        } catch (IOException e) {
            throw new IllegalStateException("listsnaps -o " + part + ": not JSON: " + snaps.out(), e);
        }
        return newest;
    }

    /** Runs slsctl with exactly {@code args}. */
    public CliResult ctlNoSocket(String... args) {
        List<String> cmd = new ArrayList<>(List.of(JAVA, "--enable-native-access=ALL-UNNAMED",
                "-Dsls.native.dir=" + nativeDir(), "-cp", CLASSPATH, "org.sls.slsctl.Slsctl"));
        cmd.addAll(Arrays.asList(args));
        return run(cmd, Duration.ofMinutes(2));
    }

    /**
     * RocksDB's native library unpacked once for the whole test run, under the build directory,
     * where the daemons and slsctl of every test load it from (sls.native.dir, as the launchers
     * pass lib/native): without it each JVM that opens a store writes its own 17 MB copy first.
     */
    static synchronized Path nativeDir() {
        if (nativeDir == null) {
            try {
                Path d = Files.createDirectories(Path.of("target", "sls-native").toAbsolutePath());
                Path lib = d.resolve(org.rocksdb.util.Environment.getJniLibraryFileName("rocksdbjni"));
                try (java.io.InputStream in = org.rocksdb.RocksDB.class.getResourceAsStream(
                        "/" + org.rocksdb.util.Environment.getJniLibraryFileName("rocksdb"))) {
                    if (in != null) {
                        // written beside, then renamed: a JVM loading it never sees half a library
                        Path part = Files.createTempFile(d, "lib", ".part");
                        Files.copy(in, part, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                        Files.move(part, lib, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                    }
                }
                nativeDir = d;
            } catch (IOException e) {
                throw new IllegalStateException("cannot unpack RocksDB's native library: " + e.getMessage(), e);
            }
        }
        return nativeDir;
    }

    /** Runs a command, returns its exit code and output; kills it (by pid) when it overruns. */
    public static CliResult run(List<String> cmd, Duration timeout) {
        try {
            Path out = Files.createTempFile("sls-cmd", ".out");
            Path err = Files.createTempFile("sls-cmd", ".err");
            try {
                Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
                if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    p.destroyForcibly();
                    p.waitFor();
                    throw new IllegalStateException("command overran " + timeout + ": " + cmd);
                }
                return new CliResult(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + cmd + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + cmd, e);
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stopDaemon();
    }
}
