package org.sls.slsctl;

import org.sls.libsls.KernelFeature;
import org.sls.libsls.SlsClient;
import org.sls.libsls.protocol.Codec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.List;
import java.util.concurrent.Callable;

/** {@code slsctl check}: the kernel features slsd found. */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = "Show the kernel features slsd probed at start and whether each works here; with --pid, whether that "
                + "process can be checkpointed and, if not, which fd or mapping stops it (the process is not touched). "
                + "Exits 1 when it cannot.")
final class CheckCommand implements Callable<Integer> {
    @Mixin
    ClientOptions client;
    @Mixin
    OutputOptions output;
    @picocli.CommandLine.Option(names = "--pid", paramLabel = "PID", description = "Check this process instead of listing kernel features.")
    Integer pid;
    @picocli.CommandLine.Option(names = "-r", description = "With --pid: its descendants too.")
    boolean recursive;

    @Override
    public Integer call() {
        try (SlsClient c = client.connect()) {
            if (pid != null) {
                List<String> problems = c.checkProcess(pid, recursive);
                if (output.json) {
                    System.out.println(Codec.encode(problems));
                } else if (problems.isEmpty()) {
                    System.out.println("pid " + pid + (recursive ? " and its descendants" : "") + ": can be checkpointed");
                } else {
                    System.out.println("pid " + pid + ": cannot be checkpointed:");
                    problems.forEach(p -> System.out.println("  " + p));
                }
                return problems.isEmpty() ? ExitCode.OK : ExitCode.FAILED;
            }
            List<KernelFeature> features = c.check();
            if (output.json) {
                System.out.println(Codec.encode(features));
                return ExitCode.OK;
            }
            Table t = new Table("FEATURE", "AVAILABLE", "DETAIL");
            for (KernelFeature f : features) {
                t.add(f.name(), f.available() ? "yes" : "no", f.detail());
            }
            t.print(System.out, output.noHeader);
        }
        return ExitCode.OK;
    }
}
