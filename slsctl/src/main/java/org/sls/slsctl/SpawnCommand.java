package org.sls.slsctl;

import org.sls.libsls.SlsClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code slsctl spawn}: starts a program under slsd, in a partition from its first instruction. */
@Command(name = "spawn", mixinStandardHelpOptions = true,
        description = "Start CMD under slsd, attached to the partition from its first instruction, with this shell's environment and "
                + "working directory. Its standard streams are /dev/null unless redirected to files. Prints its pid.")
final class SpawnCommand implements Callable<Integer> {
    @Mixin
    ClientOptions client;
    @Option(names = "-o", paramLabel = "NAME", required = true, description = "Partition.")
    String name;
    @Option(names = "--stdin", paramLabel = "FILE", description = "Read standard input from FILE.")
    Path stdin;
    @Option(names = "--stdout", paramLabel = "FILE", description = "Append standard output to FILE.")
    Path stdout;
    @Option(names = "--stderr", paramLabel = "FILE", description = "Append standard error to FILE.")
    Path stderr;
    @Parameters(paramLabel = "CMD", arity = "1..*", description = "The program and its arguments (after --).")
    List<String> command;

    @Override
    public Integer call() {
        try (SlsClient c = client.connect()) {
            int pid = c.spawn(name, command, abs(stdin), abs(stdout), abs(stderr));
            System.out.println(pid);
        }
        return ExitCode.OK;
    }

    private static String abs(Path p) {
        return p == null ? null : p.toAbsolutePath().toString();
    }
}
