package org.sls.slsctl;

import org.sls.libsls.SlsClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code slsctl core}: an ELF core file of a process as it was at a checkpoint, for gdb. */
@Command(name = "core", mixinStandardHelpOptions = true,
        description = "Write an ELF core file of one process as of a checkpoint; open it with 'gdb EXE -c FILE'. "
                + "The same file is /sls/.snapshots/PART/EPOCH/PID/core when slfs is mounted.")
final class CoreCommand implements Callable<Integer> {
    @Mixin
    ClientOptions client;
    @Option(names = "-o", paramLabel = "NAME", required = true, description = "Partition.")
    String name;
    @Option(names = "--epoch", paramLabel = "E", defaultValue = "0", description = "Epoch (default: the newest).")
    long epoch;
    @Option(names = "--pid", paramLabel = "PID", required = true, description = "Process (as checkpointed).")
    int pid;
    @Option(names = "-O", paramLabel = "FILE", required = true, description = "Where to write the core file.")
    Path out;

    @Override
    public Integer call() {
        try (SlsClient c = client.connect()) {
            long bytes = c.core(name, epoch, pid, out);
            System.out.println("core of pid " + pid + " written to " + out.toAbsolutePath() + " (" + Table.bytes(bytes, false) + ")");
        }
        return ExitCode.OK;
    }
}
