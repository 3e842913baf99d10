package org.sls.slsctl;

import org.sls.libsls.SlsClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code slsctl partdel}: deletes a partition and its checkpoints. */
@Command(name = "partdel", aliases = "pd", mixinStandardHelpOptions = true,
        description = "Delete a partition and all of its checkpoints.")
final class PartdelCommand implements Callable<Integer> {
    @Mixin
    ClientOptions client;
    @Option(names = "-o", paramLabel = "NAME", required = true, description = "Partition name.")
    String name;

    @Override
    public Integer call() {
        try (SlsClient c = client.connect()) {
            c.partdel(name);
            System.out.println("partition " + name + " deleted");
        }
        return ExitCode.OK;
    }
}
