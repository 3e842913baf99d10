package org.sls.slsctl;

import org.sls.libsls.RestoreInfo;
import org.sls.libsls.SlsClient;
import org.sls.libsls.protocol.Codec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/** {@code slsctl restore}: brings a partition's processes back from a committed epoch. */
@Command(name = "restore", aliases = "rest", mixinStandardHelpOptions = true,
        description = "Restore every process of a partition as of an epoch (default: the newest), with its tree and threads, "
                + "under its original PIDs, then let it run. Prints the restored PIDs. A PID that is taken stops the restore "
                + "before anything is built; --new-pids restores under fresh PIDs instead (a clone beside the original). "
                + "Checkpoints of the partition then continue from the restored epoch.")
final class RestoreCommand implements Callable<Integer> {
    @Mixin
    ClientOptions client;
    @Option(names = "-o", paramLabel = "NAME", description = "Partition (default: 'default').")
    String name;
    @Option(names = "--epoch", paramLabel = "E", defaultValue = "0", description = "Epoch to restore (default: the newest committed).")
    long epoch;
    @Option(names = {"-s", "--stopped"}, description = "Leave the processes stopped (attach a debugger, or continue them with SIGCONT).")
    boolean stopped;
    @Option(names = "--new-pids", description = "Restore under fresh PIDs instead of the original ones.")
    boolean newPids;
    @Option(names = "--json", description = "Print epoch, PIDs, the pid map and timings as JSON.")
    boolean json;

    @Override
    public Integer call() {
        try (SlsClient c = client.connect()) {
            RestoreInfo r = Progress.unchecked("restore of " + (name == null ? "default" : name),
                    Progress.of(client, name == null ? "default" : name, "restore"), () -> c.restore(name, epoch, stopped, newPids));
            System.out.println(json ? Codec.encode(r) : r.pids().stream().map(String::valueOf).collect(Collectors.joining(" ")));
        }
        return ExitCode.OK;
    }
}
