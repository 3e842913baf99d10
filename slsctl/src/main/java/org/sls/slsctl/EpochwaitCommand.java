package org.sls.slsctl;

import org.sls.libsls.SlsClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

/** {@code slsctl epochwait}: returns once an epoch is durable (Aurora's sls_epochwait). */
@Command(name = "epochwait", mixinStandardHelpOptions = true,
        description = "Wait until EPOCH of the partition, or a newer one, is durable; fail if it never will be.")
final class EpochwaitCommand implements Callable<Integer> {
    @Mixin
    ClientOptions client;
    @Option(names = "-o", paramLabel = "NAME", required = true, description = "Partition.")
    String name;
    @Parameters(paramLabel = "EPOCH", description = "The epoch to wait for.")
    long epoch;

    @Override
    public Integer call() {
        try (SlsClient c = client.connect()) {
            c.epochWait(name, epoch);
            System.out.println("epoch " + epoch + " of partition " + name + " is durable");
        }
        return ExitCode.OK;
    }
}
