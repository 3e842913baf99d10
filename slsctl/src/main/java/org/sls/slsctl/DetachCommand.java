package org.sls.slsctl;

import org.sls.libsls.SlsClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code slsctl detach}: a process leaves its partition. */
@Command(name = "detach", mixinStandardHelpOptions = true, description = "Detach a process from its partition; it runs on, no longer checkpointed.")
final class DetachCommand implements Callable<Integer> {
    @Mixin
    ClientOptions client;
    @Option(names = "-p", paramLabel = "PID", required = true, description = "Process to detach.")
    int pid;

    @Override
    public Integer call() {
        try (SlsClient c = client.connect()) {
            c.detach(pid);
            System.out.println("pid " + pid + " detached");
        }
        return ExitCode.OK;
    }
}
