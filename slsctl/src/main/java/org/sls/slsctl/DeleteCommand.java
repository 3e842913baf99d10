package org.sls.slsctl;

import org.sls.libsls.SlsClient;
import org.sls.libsls.protocol.Codec;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.concurrent.Callable;

/** {@code slsctl delete}: removes checkpoints; pages that kept checkpoints still need stay. */
@Command(name = "delete", aliases = "del", mixinStandardHelpOptions = true,
        description = "Delete checkpoints of a partition: one epoch, or all but the newest N. Pages that remaining checkpoints still see are kept.")
final class DeleteCommand implements Callable<Integer> {
    @Mixin
    ClientOptions client;
    @Option(names = "-o", paramLabel = "NAME", required = true, description = "Partition name.")
    String name;
    @ArgGroup(exclusive = true, multiplicity = "1")
    Which which;
    @Option(names = "--json", description = "Print the deleted epochs as JSON.")
    boolean json;

    static final class Which {
        @Option(names = "--epoch", paramLabel = "E", description = "Delete the checkpoint at epoch E.")
        Long epoch;
        @Option(names = "--keep", paramLabel = "N", description = "Keep the newest N checkpoints, delete the others.")
        Integer keep;
    }

    @Override
    public Integer call() {
        try (SlsClient c = client.connect()) {
            List<Long> deleted = which.epoch != null ? c.deleteEpoch(name, which.epoch) : c.deleteAllBut(name, which.keep);
            if (json) {
                System.out.println(Codec.encode(deleted));
            } else if (deleted.isEmpty()) {
                System.out.println("nothing to delete in partition " + name);
            } else {
                System.out.println("deleted epoch" + (deleted.size() > 1 ? "s " : " ") + deleted.stream().map(String::valueOf)
                        .reduce((a, b) -> a + ", " + b).orElse("") + " of partition " + name);
            }
        }
        return ExitCode.OK;
    }
}
