package org.sls.slsd;

import org.sls.libsls.PartitionInfo;
import org.sls.libsls.Status;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Writes slsd's figures every second to a file in the Prometheus text exposition format (for
 * node_exporter's textfile collector, or anything that reads it). Written to a temporary file and
 * renamed, so a reader never sees half a file. Thread-safe.
 */
public final class MetricsFile implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MetricsFile.class);

    private final Path file;
    private final Supplier<Status> status;
    private final ScheduledExecutorService timer;
    private volatile String lastError = "";

    public MetricsFile(Path file, Supplier<Status> status) {
        this.file = file;
        this.status = status;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "sls-metrics");
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts writing every second. */
    public void start() {
        timer.scheduleWithFixedDelay(this::writeQuietly, 0, 1, TimeUnit.SECONDS);
        log.info("writing metrics to {}", file);
    }

    private void writeQuietly() {
        try {
            write();
            lastError = "";
        } catch (IOException | RuntimeException e) {
            if (!String.valueOf(e.getMessage()).equals(lastError)) {
                log.warn("cannot write metrics to {}: {}", file, e.getMessage());
                lastError = String.valueOf(e.getMessage());
            }
        }
    }

    /** Renders and writes the figures once. */
    void write() throws IOException {
        String text = render(status.get());
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = dir.resolve("." + file.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The exposition text for one status. */
    static String render(Status s) {
        StringBuilder b = new StringBuilder();
        metric(b, "sls_store_bytes", "gauge", "Store data area in bytes, by kind.");
        b.append("sls_store_bytes{kind=\"total\"} ").append(s.store().totalBytes()).append('\n');
        b.append("sls_store_bytes{kind=\"used\"} ").append(s.store().usedBytes()).append('\n');
        b.append("sls_store_bytes{kind=\"free\"} ").append(s.store().freeBytes()).append('\n');
        metric(b, "sls_cpu_share", "gauge", "Share of the machine's CPU time slsd's threads used over the last 10 s.");
        b.append("sls_cpu_share ").append(s.cpuShare()).append('\n');
        metric(b, "sls_checkpoints_total", "counter", "Checkpoints committed since slsd started.");
        each(b, s, "sls_checkpoints_total", p -> p.checkpoints());
        metric(b, "sls_checkpoint_failures_total", "counter", "Checkpoints that failed since slsd started.");
        each(b, s, "sls_checkpoint_failures_total", p -> p.failures());
        metric(b, "sls_frozen_seconds", "summary", "Time processes stay frozen per checkpoint.");
        for (PartitionInfo p : s.partitions()) {
            b.append("sls_frozen_seconds{partition=\"").append(p.name()).append("\",quantile=\"0.5\"} ").append(sec(p.frozenMedianMicros())).append('\n');
            b.append("sls_frozen_seconds{partition=\"").append(p.name()).append("\",quantile=\"0.99\"} ").append(sec(p.frozenP99Micros())).append('\n');
            b.append("sls_frozen_seconds{partition=\"").append(p.name()).append("\",quantile=\"1\"} ").append(sec(p.frozenMaxMicros())).append('\n');
        }
        metric(b, "sls_durable_seconds", "gauge", "Median time from resume to durable.");
        each(b, s, "sls_durable_seconds", p -> sec(p.durableMedianMicros()));
        metric(b, "sls_checkpoint_bytes", "gauge", "Mean bytes written per checkpoint.");
        each(b, s, "sls_checkpoint_bytes", p -> p.bytesPerCheckpoint());
        metric(b, "sls_checkpoints_per_second", "gauge", "Checkpoints per second over the last 10 s.");
        each(b, s, "sls_checkpoints_per_second", p -> p.checkpointsPerSecond());
        metric(b, "sls_period_seconds", "gauge", "Checkpoint period asked for and achieved.");
        for (PartitionInfo p : s.partitions()) {
            b.append("sls_period_seconds{partition=\"").append(p.name()).append("\",kind=\"asked\"} ").append(p.periodMs() / 1000.0).append('\n');
            b.append("sls_period_seconds{partition=\"").append(p.name()).append("\",kind=\"achieved\"} ").append(p.effectivePeriodMs() / 1000.0).append('\n');
        }
        metric(b, "sls_last_epoch", "gauge", "Newest committed epoch.");
        each(b, s, "sls_last_epoch", p -> p.lastEpoch());
        return b.toString();
    }

    private static void metric(StringBuilder b, String name, String type, String help) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void each(StringBuilder b, Status s, String name, java.util.function.Function<PartitionInfo, Object> value) {
        for (PartitionInfo p : s.partitions()) {
            b.append(name).append("{partition=\"").append(p.name()).append("\"} ").append(value.apply(p)).append('\n');
        }
    }

    private static String sec(long micros) {
        return String.format(Locale.ROOT, "%.6f", micros / 1e6);
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
