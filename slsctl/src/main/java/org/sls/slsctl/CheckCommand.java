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
        description = "Show the kernel features slsd probed at start and whether each works here.")
final class CheckCommand implements Callable<Integer> {
    @Mixin
    ClientOptions client;
    @Mixin
    OutputOptions output;

    @Override
    public Integer call() {
        try (SlsClient c = client.connect()) {
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
