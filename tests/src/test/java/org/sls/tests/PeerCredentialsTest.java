package org.sls.tests;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SO_PEERCRED decides: a non-root peer may read but not create or delete partitions.
 */
class PeerCredentialsTest {

    private static final String CLIENT = String.join("\n",
            "import socket, sys",
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)",
            "s.connect(sys.argv[1])",
            "f = s.makefile('rw')",
            "for line in sys.argv[2:]:",
            "    f.write(line + '\\n'); f.flush()",
            "    print(f.readline().strip())");

    @Test
    void aNonRootPeerIsIdentifiedAndMayNotChangePartitions(@TempDir Path tmp) throws Exception {
        try (Sls sls = Sls.start(tmp)) {
            // let 'nobody' reach the socket at all; the daemon's own check is what is tested
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.setPosixFilePermissions(sls.socket(), PosixFilePermissions.fromString("rw-rw-rw-"));
            Path script = tmp.resolve("client.py");
            Files.writeString(script, CLIENT);
            Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rw-r--r--"));
            CliResult r = Sls.run(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", script.toString(),
                    sls.socket().toString(),
                    "{\"v\":1,\"id\":1,\"op\":\"hello\"}",
                    "{\"v\":1,\"id\":2,\"op\":\"partadd\",\"args\":{\"name\":\"mine\"}}",
                    "{\"v\":1,\"id\":3,\"op\":\"status\"}"), Duration.ofMinutes(1));
            assertEquals(0, r.exit(), r.all());
            List<String> replies = r.out().lines().toList();
            assertTrue(replies.get(0).contains("\"uid\":65534"), r.all());
            assertTrue(replies.get(1).contains("\"code\":\"PERMISSION\"") && replies.get(1).contains("only root may create a partition"), r.all());
            assertTrue(replies.get(2).contains("\"ok\":true"), r.all());
            CliResult status = sls.ctl("status", "-H");
            assertEquals("", status.out(), "no partition was created: " + status.all());
        }
    }
}
