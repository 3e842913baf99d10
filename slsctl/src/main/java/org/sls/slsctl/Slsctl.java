package org.sls.slsctl;

import org.sls.libsls.SlsUnreachableException;
import org.sls.libsls.protocol.SlsException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code slsctl} command line: one subcommand per class, shared options as mixins, one
 * exception handler that prints a message (a stack trace only with {@code -v}) and maps the
 * failure to an {@link ExitCode}.
 */
@Command(name = "slsctl", mixinStandardHelpOptions = true, versionProvider = Slsctl.Version.class,
        description = "Control sls, the single level store for Linux processes.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:the operation failed (slsd or the store said why)", "2:usage error",
                "3:cannot reach slsd", "4:fsck found damage"},
        subcommands = {NewfsCommand.class, PartaddCommand.class, PartdelCommand.class, ListsnapsCommand.class,
                StatusCommand.class, CheckCommand.class, DeleteCommand.class, FsckCommand.class, AttachCommand.class, DetachCommand.class,
                SpawnCommand.class, CheckpointCommand.class, EpochwaitCommand.class, RestoreCommand.class, ConsoleCommand.class, CoreCommand.class, CommandLine.HelpCommand.class})
public final class Slsctl {
    @Option(names = {"-v", "--verbose"}, scope = CommandLine.ScopeType.INHERIT, description = "Show details of failures.")
    static boolean verbose;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs slsctl with {@code args} and returns its exit code. */
    public static int run(String... args) {
        System.setProperty("sls.log.level", System.getProperty("sls.log.level", "WARN"));
        return commandLine(new Slsctl()).execute(args);
    }

    /** The command tree, with slsctl's error handling, for the launcher and for codegen. */
    public static CommandLine commandLine(Object root) {
        CommandLine cl = new CommandLine(root);
        cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            String name = commandLine.getCommandName();
            if (e instanceof SlsUnreachableException) {
                commandLine.getErr().println("slsctl: " + e.getMessage());
                return ExitCode.UNREACHABLE;
            }
            if (e instanceof IllegalArgumentException) {
                commandLine.getErr().println("slsctl " + name + ": " + e.getMessage());
                return ExitCode.USAGE;
            }
            if (e instanceof SlsException se) {
                commandLine.getErr().println("slsctl " + name + ": " + se.getMessage());
            } else {
                commandLine.getErr().println("slsctl " + name + ": " + (e.getMessage() != null ? e.getMessage() : e.toString()));
            }
            if (verbose) {
                e.printStackTrace(commandLine.getErr());
            }
            return ExitCode.FAILED;
        });
        return cl;
    }

    /** Reports the version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Slsctl.class.getPackage().getImplementationVersion();
            return new String[]{"slsctl " + (v != null ? v : "dev")};
        }
    }
}
