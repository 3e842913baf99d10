package org.sls.slsctl;

import org.sls.libsls.CheckpointInfo;
import org.sls.libsls.SlsClient;
import org.sls.libsls.protocol.Codec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code slsctl checkpoint}: one epoch for a whole partition. */
@Command(name = "checkpoint", aliases = "ckpt", mixinStandardHelpOptions = true,
        description = "Checkpoint every process of a partition into one new epoch and print the epoch. "
                + "The command returns once the epoch is durable in the store.")
final class CheckpointCommand implements Callable<Integer> {
    @Mixin
    ClientOptions client;
    @Option(names = "-o", paramLabel = "NAME", description = "Partition (default: 'default').")
    String name;
    @Option(names = "-r", description = "Include every descendant of the attached processes (children that appear later are picked up next time).")
    boolean recursive;
    @Option(names = "--wait", description = "Return only once the epoch is durable (checkpoints are committed before the command returns, so this is always so; kept for scripts written for Aurora).")
    boolean waitDurable;
    @Option(names = "--external", description = "Accept pipes that processes outside the partition also hold: the partition's end comes back on /dev/null at restore (otherwise such a pipe refuses the checkpoint).")
    boolean external;
    @Option(names = "--kill", description = "Then end the processes (CRIU's dump for migration): they stay frozen until the epoch is durable and are killed behind a network lock (an nftables table of slsd's) that keeps their TCP connections to peers outside the partition silent; restoring that epoch resumes those connections, so the peers notice nothing, and lifts the lock. If anything fails before the kill, the lock goes and the processes run on as before.")
    boolean kill;
    @Option(names = "--json", description = "Print epoch, frozen time (us), pages and bytes written and commit time as JSON.")
    boolean json;

    @Override
    public Integer call() {
        try (SlsClient c = client.connect()) {
            CheckpointInfo r = Progress.unchecked("checkpoint of " + (name == null ? "default" : name),
                    Progress.of(client, name == null ? "default" : name, "checkpoint"),
                    () -> c.checkpoint(name, recursive, external, kill));
            if (waitDurable) {
                c.epochWait(r.partition(), r.epoch());
            }
            System.out.println(json ? Codec.encode(r) : Long.toString(r.epoch()));
        }
        return ExitCode.OK;
    }
}
