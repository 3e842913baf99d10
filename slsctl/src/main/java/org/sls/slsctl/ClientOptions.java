package org.sls.slsctl;

import org.sls.libsls.SlsClient;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * Mixin: how to reach slsd ({@code --socket}, else {@code SLS_SOCKET}, else the default). Not
 * thread-safe (one per command invocation).
 */
public final class ClientOptions {
    @Option(names = "--socket", paramLabel = "PATH", description = "slsd's control socket (default: $SLS_SOCKET or /run/sls/slsd.sock).")
    Path socket;

    /** Connects to slsd; fails with "cannot reach slsd at SOCKET: is it running?". */
    public SlsClient connect() {
        return SlsClient.connect(socket != null ? socket : SlsClient.defaultSocket());
    }
}
