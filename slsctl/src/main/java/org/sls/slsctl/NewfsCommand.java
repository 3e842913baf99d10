package org.sls.slsctl;

import org.sls.libsls.protocol.Codec;
import org.sls.slos.FormatOptions;
import org.sls.slos.FormatResult;
import org.sls.slos.Slos;
import org.sls.slos.StoreException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code slsctl newfs} (also installed as {@code newfs_sls}): formats a store. Runs locally,
 * without slsd: formatting a store that a daemon has open is refused by the store's lock.
 */
@Command(name = "newfs", mixinStandardHelpOptions = true,
        description = "Format PATH as an sls store: an existing block device, or an image file created sparse at --size when absent.")
final class NewfsCommand implements Callable<Integer> {
    @Parameters(paramLabel = "PATH", description = "Block device or image file.")
    Path path;
    @Option(names = "--size", paramLabel = "SIZE", converter = Sizes.class,
            description = "Size of a new image file (e.g. 4G, 512M). Required when the image does not exist.")
    Long size;
    @Option(names = "--meta", paramLabel = "DIR", description = "Metadata directory (default: PATH.meta beside an image, /var/lib/sls/UUID for a device).")
    Path meta;
    @Option(names = "--force", description = "Overwrite an existing store.")
    boolean force;
    @Option(names = "--mode", paramLabel = "auto|pmem|block", defaultValue = "auto",
            description = "pmem: memory-mapped with cache-line flushes (MAP_SYNC on DAX); block: read/write with O_DIRECT where possible; auto: pmem on a DAX file system, block elsewhere. Default: ${DEFAULT-VALUE}.")
    String mode;
    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Override
    public Integer call() {
        FormatOptions.Mode m;
        try {
            m = FormatOptions.Mode.valueOf(mode.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown mode '" + mode + "' (auto, pmem or block)");
        }
        FormatOptions options = FormatOptions.defaults().withSize(size == null ? 0 : size).withMetaDir(meta).withForce(force).withMode(m);
        FormatResult r;
        try {
            r = Slos.format(path, options);
        } catch (StoreException e) {
            System.err.println("slsctl newfs: " + e.getMessage());
            if (e.kind() == StoreException.Kind.EXISTS) {
                System.err.println("  to overwrite it: slsctl newfs --force " + path);
            }
            return ExitCode.FAILED;
        }
        if (json) {
            System.out.println(Codec.encode(r));
        } else {
            System.out.printf("formatted %s: %s, %d segments of %s, block size %d, mode %s%n  uuid %s%n  metadata %s%n",
                    r.data(), Table.bytes(r.size(), false), r.segments(), Table.bytes(r.segmentSize(), false), r.blockSize(),
                    r.mode().name().toLowerCase(Locale.ROOT), r.uuid(), r.metaDir());
        }
        return ExitCode.OK;
    }
}
