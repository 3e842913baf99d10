package org.sls.slsctl;

import org.sls.libsls.PartitionInfo;
import org.sls.libsls.SlsClient;
import org.sls.libsls.Status;
import org.sls.libsls.protocol.Codec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/** {@code slsctl status}: the daemon, its store and its partitions. */
@Command(name = "status", aliases = "st", mixinStandardHelpOptions = true,
        description = "Show slsd, its store's usage, and each partition with its settings, processes and checkpoint statistics.")
final class StatusCommand implements Callable<Integer> {
    @Mixin
    ClientOptions client;
    @Mixin
    OutputOptions output;

    @Override
    public Integer call() {
        try (SlsClient c = client.connect()) {
            Status s = c.status();
            if (output.json) {
                System.out.println(Codec.encode(s));
                return ExitCode.OK;
            }
            boolean exact = output.exact;
            if (!output.noHeader) {
                System.out.println("slsd " + s.version() + " (pid " + s.pid() + String.format(", CPU %.1f%% of the machine over 10 s, ",
                        100 * s.cpuShare()) + (s.cpuShareMax() >= 1 ? "no budget" : String.format("budget %.1f%%", 100 * s.cpuShareMax())) + ")");
                System.out.println("store " + s.store().path() + " (uuid " + s.store().uuid() + ", metadata " + s.store().metaDir() + ")");
                System.out.println("  used " + Table.bytes(s.store().usedBytes(), exact) + " of " + Table.bytes(s.store().totalBytes(), exact)
                        + ", free " + Table.bytes(s.store().freeBytes(), exact));
                System.out.println();
            }
            Table t = new Table("PARTITION", "BACKEND", "MODE", "PERIOD", "KEEP", "PROCESSES", "EPOCHS", "LAST", "CKPTS",
                    "FROZEN-LAST", "FROZEN-MED", "FROZEN-MAX", "TRACKER", "FROZEN-P99", "CKPT/S", "BYTES/CKPT", "DURABLE-MED", "FAILED");
            for (PartitionInfo p : s.partitions()) {
                String period = p.periodMs() == 0 ? "-" : p.periodMs() + "ms";
                if (p.periodMs() > 0 && p.effectivePeriodMs() > p.periodMs() * 1.1) {
                    period += String.format(" (stretched to %.1fms%s)", p.effectivePeriodMs(),
                            p.stretchedBy() == null || p.stretchedBy().isEmpty() ? "" : ": " + p.stretchedBy());
                }
                t.add(p.name(), p.backend() + (p.persistent() ? "" : " (lost on restart)"), p.mode(), period, p.keep(),
                        p.attached().isEmpty() ? "-" : p.attached().stream().map(String::valueOf).collect(Collectors.joining(",")),
                        p.epochs(), p.lastEpoch() == 0 ? "-" : p.lastEpoch(), p.checkpoints(),
                        Table.micros(p.frozenLastMicros(), exact), Table.micros(p.frozenMedianMicros(), exact),
                        Table.micros(p.frozenMaxMicros(), exact), p.tracker().isEmpty() ? "-" : p.tracker(),
                        Table.micros(p.frozenP99Micros(), exact), String.format("%.1f", p.checkpointsPerSecond()),
                        Table.bytes(p.bytesPerCheckpoint(), exact), Table.micros(p.durableMedianMicros(), exact),
                        p.failures() == 0 ? "0" : p.failures() + (output.noHeader ? "" : " (last: " + p.lastFailure() + ")"));
            }
            t.print(System.out, output.noHeader);
        }
        return ExitCode.OK;
    }
}
