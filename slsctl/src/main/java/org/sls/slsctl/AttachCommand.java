package org.sls.slsctl;

import org.sls.libsls.SlsClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code slsctl attach}: a running process joins a partition. */
@Command(name = "attach", mixinStandardHelpOptions = true,
        description = "Attach a running process to a partition (the partition 'default', created on demand, when -o is not given). "
                + "A process another tracer (gdb, strace) holds is refused.")
final class AttachCommand implements Callable<Integer> {
    @Mixin
    ClientOptions client;
    @Option(names = "-p", paramLabel = "PID", required = true, description = "Process to attach.")
    int pid;
    @Option(names = "-o", paramLabel = "NAME", description = "Partition (default: 'default').")
    String name;

    @Override
    public Integer call() {
        try (SlsClient c = client.connect()) {
            String part = c.attach(pid, name);
            System.out.println("pid " + pid + " attached to partition " + part);
        }
        return ExitCode.OK;
    }
}
