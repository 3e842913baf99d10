package org.sls.slsctl;

import org.sls.libsls.FsckResult;
import org.sls.libsls.SlsClient;
import org.sls.libsls.protocol.Codec;
import org.sls.slos.Slos;
import org.sls.slos.StoreException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code slsctl fsck}: checks the whole store (superblocks, every committed epoch, every
 * referenced extent's CRC32C, segment usage against references). Through slsd by default; with
 * {@code --store}, on a store no daemon holds.
 */
@Command(name = "fsck", mixinStandardHelpOptions = true,
        description = "Check the store: superblocks, every committed epoch, every referenced extent and its CRC32C, segment usage. Exits 4 when damage is left.")
final class FsckCommand implements Callable<Integer> {
    @Mixin
    ClientOptions client;
    @Option(names = "--repair", description = "Fix what can be derived again (superblock copies, segment usage, orphan records).")
    boolean repair;
    @Option(names = "--store", paramLabel = "PATH", description = "Check this store directly instead of asking slsd (the store must not be open by slsd).")
    Path store;
    @Option(names = "--meta", paramLabel = "DIR", description = "With --store: its metadata directory, when not the default.")
    Path meta;
    @Option(names = "--json", description = "Print the report as JSON.")
    boolean json;

    @Override
    public Integer call() {
        FsckResult r;
        if (store != null) {
            try (Slos slos = Slos.open(store, meta)) {
                r = Codec.MAPPER.convertValue(slos.fsck(repair), FsckResult.class);
            } catch (StoreException e) {
                System.err.println("slsctl fsck: " + e.getMessage());
                return ExitCode.FAILED;
            }
        } else {
            try (SlsClient c = client.connect()) {
                r = c.fsck(repair);
            }
        }
        if (json) {
            System.out.println(Codec.encode(r));
        } else {
            for (FsckResult.Problem p : r.problems()) {
                System.out.println(p);
            }
            System.out.printf("%s: %s (%d epochs, %d extents, %d pages, %d metadata records checked)%n", r.store(),
                    r.clean() ? (r.problems().isEmpty() ? "clean" : "repaired") : r.problems().stream().filter(p -> !p.repaired()).count() + " problem(s) left",
                    r.epochsChecked(), r.extentsChecked(), r.pagesChecked(), r.recordsChecked());
        }
        return r.clean() ? ExitCode.OK : ExitCode.DAMAGED;
    }
}
