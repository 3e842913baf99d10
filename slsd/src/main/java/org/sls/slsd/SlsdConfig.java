package org.sls.slsd;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;

/**
 * slsd's settings: from {@code /etc/sls/slsd.conf} (or {@code --config}), overridden by the
 * command line. The file is Java properties ({@code key = value}); unknown keys are an error so
 * that a typo never passes silently. Immutable.
 *
 * @param store   data path of the store (image file or block device)
 * @param metaDir metadata directory, or null for the store's default
 * @param socket  control socket path
 * @param mount   where slfs is mounted, or null for no mount
 * @param logFile a file to log to besides stderr, or null
 * @param metricsFile where to write metrics (Prometheus text format) every second, or null
 * @param stagingMaxBytes bound on the staging memory of checkpoints captured and not yet written
 *                        ({@code staging.max.bytes}; with K, M or G suffixes)
 * @param frozenShareMax  the largest share of the time a partition's processes may spend frozen by
 *                        periodic checkpoints ({@code frozen.share.max}: "5%" or 0.05; 1 for no bound):
 *                        beyond, the period stretches
 * @param cpuShareMax     the largest share of the machine's CPU time (all its cores) slsd may use while
 *                        it checkpoints periodically ({@code cpu.share.max}: "5%" or 0.05; 1 for no
 *                        bound): beyond, the period stretches
 * @param memoryHotShare  the share of a memory region's present pages that the interval between two
 *                        checkpoints must write for the region to run hot: copied whole at each
 *                        checkpoint for a while, without write-protecting it again ({@code
 *                        memory.hot.share}: "50%" or 0.5; "off": never, as {@link Double#POSITIVE_INFINITY})
 * @param memoryPrecopy   whether a delta checkpoint copies the pages written since the last
 *                        one before it freezes the processes, and while frozen only those written
 *                        since ({@code memory.precopy}: on or off, default off; see
 *                        {@link org.sls.slsd.capture.Precopy})
 * @param freezeRealtime  whether the threads a freeze waits on (slsd's and the frozen ones) run at
 *                        realtime priority until the thaw ({@code freeze.realtime}: on or off, default
 *                        on; see {@link org.sls.slsd.capture.FreezePriority})
 */
public record SlsdConfig(Path store, Path metaDir, Path socket, Path mount, Path logFile, Path metricsFile,
                         long stagingMaxBytes, double frozenShareMax, double cpuShareMax,
                         double memoryHotShare, boolean memoryPrecopy, boolean freezeRealtime) {
    /**
     * Default of {@code frozen.share.max}: 5%, so that freezing alone takes at most a twentieth of
     * a busy server's time (under redis-benchmark on two cores, with the CPU budget lifted, 5% cost
     * redis 0.13 of its throughput, 10% a quarter to a third; README, Benchmarks).
     */
    public static final double DEFAULT_FROZEN_SHARE_MAX = 0.05;

    /**
     * Default of {@code cpu.share.max}: 5% of the machine. Under load, slsd's own CPU per checkpoint
     * (about 25 ms of its threads for redis under redis-benchmark, against 9 ms frozen) took more from
     * the server than the freezes did, and the frozen-time budget alone let it (README, Benchmarks).
     */
    public static final double DEFAULT_CPU_SHARE_MAX = 0.05;

    /** The configuration file read when present and no {@code --config} is given. */
    public static final Path DEFAULT_FILE = Path.of("/etc/sls/slsd.conf");
    static final Set<String> KEYS = Set.of("store", "meta", "socket", "mount", "log.file", "metrics.file",
            "staging.max.bytes", "frozen.share.max", "cpu.share.max", "memory.hot.share",
            "memory.precopy", "freeze.realtime");

    /** Reads a configuration file; every key is optional. */
    public static Properties readFile(Path file) {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read configuration " + file + ": " + e.getMessage(), e);
        }
        for (String key : p.stringPropertyNames()) {
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException("configuration " + file + ": unknown key '" + key + "' (known: " + String.join(", ", KEYS.stream().sorted().toList()) + ")");
            }
        }
        return p;
    }

    /** The value of {@code key} as a size in bytes ("512M", "2G", "65536"), or {@code dflt} when unset. */
    static long size(Properties p, String key, long dflt) {
        String v = p.getProperty(key);
        if (v == null || v.isBlank()) {
            return dflt;
        }
        String t = v.trim().toUpperCase(java.util.Locale.ROOT);
        int shift = switch (t.charAt(t.length() - 1)) {
            case 'K' -> 10;
            case 'M' -> 20;
            case 'G' -> 30;
            default -> 0;
        };
        try {
            long n = Long.parseLong(shift == 0 ? t : t.substring(0, t.length() - 1).trim());
            if (n <= 0 || n > (Long.MAX_VALUE >> shift)) {
                throw new NumberFormatException();
            }
            return n << shift;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("configuration: " + key + " = '" + v.trim()
                    + "' is not a positive size (bytes, or with K, M or G)");
        }
    }

    /** The value of {@code key} as a share of the time: "10%" or "0.1", above 0 and at most 1. */
    static double share(Properties p, String key, double dflt) {
        String v = p.getProperty(key);
        if (v == null || v.isBlank()) {
            return dflt;
        }
        String t = v.trim();
        try {
            double d = t.endsWith("%") ? Double.parseDouble(t.substring(0, t.length() - 1).trim()) / 100
                    : Double.parseDouble(t);
            if (!(d > 0 && d <= 1)) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("configuration: " + key + " = '" + t
                    + "' is not a share of the time above 0 and at most 1 (such as 10% or 0.1)");
        }
    }

    /** The value of {@code key} as a share of pages: "50%" or "0.5", above 0 and at most 1; "off" for never. */
    static double shareOrOff(Properties p, String key, double dflt) {
        String v = p.getProperty(key);
        if (v != null && v.trim().equalsIgnoreCase("off")) {
            return Double.POSITIVE_INFINITY;
        }
        try {
            return share(p, key, dflt);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("configuration: " + key + " = '" + v.trim()
                    + "' is not a share above 0 and at most 1 (such as 50% or 0.5) nor off");
        }
    }

    /** The value of {@code key} as "on" or "off" (also true/false, yes/no), or {@code dflt} when unset. */
    static boolean onOff(Properties p, String key, boolean dflt) {
        String v = p.getProperty(key);
        if (v == null || v.isBlank()) {
            return dflt;
        }
        return switch (v.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "on", "true", "yes" -> true;
            case "off", "false", "no" -> false;
            default -> throw new IllegalArgumentException("configuration: " + key + " = '" + v.trim()
                    + "' is neither on nor off");
        };
    }

    /** The value of {@code key} as a path, if set and not empty. */
    static Optional<Path> path(Properties p, String key) {
        String v = p.getProperty(key);
        return v == null || v.isBlank() ? Optional.empty() : Optional.of(Path.of(v.trim()));
    }
}
