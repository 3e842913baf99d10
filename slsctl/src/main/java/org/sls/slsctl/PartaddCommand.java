package org.sls.slsctl;

import org.sls.libsls.PartitionInfo;
import org.sls.libsls.PartitionSpec;
import org.sls.libsls.SlsClient;
import org.sls.libsls.protocol.Codec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code slsctl partadd}: creates a partition. */
@Command(name = "partadd", aliases = "pa", mixinStandardHelpOptions = true,
        description = "Create a partition: a group of processes (and files) checkpointed together.")
final class PartaddCommand implements Callable<Integer> {
    @Mixin
    ClientOptions client;
    @Option(names = "-o", paramLabel = "NAME", required = true, description = "Partition name.")
    String name;
    @Option(names = "--backend", paramLabel = "slos|memory", defaultValue = "slos",
            description = "Where checkpoints go: slos (the store, survives reboot) or memory (fast, lost with slsd). Default: ${DEFAULT-VALUE}.")
    String backend;
    @Option(names = "--mode", paramLabel = "full|delta", defaultValue = "delta",
            description = "full: every page each time; delta: only pages written since the last checkpoint. Default: ${DEFAULT-VALUE}.")
    String mode;
    @Option(names = "--period", paramLabel = "MS", defaultValue = "0",
            description = "Checkpoint every MS milliseconds; 0 means on request only. Default: ${DEFAULT-VALUE}.")
    long period;
    @Option(names = "--keep", paramLabel = "N", defaultValue = "0",
            description = "Keep the newest N checkpoints (0: slsd's default).")
    int keep;
    @Option(names = "--json", description = "Print the new partition as JSON.")
    boolean json;

    @Override
    public Integer call() {
        try (SlsClient c = client.connect()) {
            PartitionInfo p = c.partadd(new PartitionSpec(name, backend, mode, period, keep));
            if (json) {
                System.out.println(Codec.encode(p));
            } else {
                System.out.println("partition " + p.name() + " created (backend " + p.backend() + ", mode " + p.mode()
                        + ", period " + (p.periodMs() == 0 ? "on request" : p.periodMs() + " ms") + ", keep " + p.keep() + ")");
            }
        }
        return ExitCode.OK;
    }
}
