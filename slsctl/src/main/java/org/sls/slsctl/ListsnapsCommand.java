package org.sls.slsctl;

import org.sls.libsls.SlsClient;
import org.sls.libsls.SnapshotInfo;
import org.sls.libsls.protocol.Codec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

/** {@code slsctl listsnaps}: lists committed checkpoints. */
@Command(name = "listsnaps", aliases = "ls", mixinStandardHelpOptions = true,
        description = "List committed checkpoints, oldest first.")
final class ListsnapsCommand implements Callable<Integer> {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS").withZone(ZoneId.systemDefault());
    @Mixin
    ClientOptions client;
    @Mixin
    OutputOptions output;
    @Option(names = "-o", paramLabel = "NAME", description = "Only this partition.")
    String name;

    @Override
    public Integer call() {
        try (SlsClient c = client.connect()) {
            List<SnapshotInfo> snaps = c.listsnaps(Optional.ofNullable(name));
            if (output.json) {
                System.out.println(Codec.encode(snaps));
                return ExitCode.OK;
            }
            Table t = new Table("PARTITION", "EPOCH", "PARENT", "TIME", "PAGES", "BYTES");
            for (SnapshotInfo s : snaps) {
                t.add(s.partition(), s.epoch(), s.parentEpoch() == 0 ? "-" : s.parentEpoch(),
                        output.exact ? s.committedMillis() : TIME.format(Instant.ofEpochMilli(s.committedMillis())),
                        s.pages(), Table.bytes(s.bytes(), output.exact));
            }
            t.print(System.out, output.noHeader);
        }
        return ExitCode.OK;
    }
}
