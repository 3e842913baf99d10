package org.sls.slsd.control;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Maps the user name the JDK reports for a socket peer back to its uid, through
 * {@code /etc/passwd}; the JDK reports the uid itself as the name when it has no entry.
 * Stateless.
 */
final class Users {
    private Users() {
    }

    static int uidOf(String user) throws IOException {
        if (user.chars().allMatch(Character::isDigit) && !user.isEmpty()) {
            return Integer.parseInt(user);
        }
        for (String line : Files.readAllLines(Path.of("/etc/passwd"))) {
            String[] f = line.split(":", -1);
            if (f.length > 2 && f[0].equals(user)) {
                return Integer.parseInt(f[2]);
            }
        }
        throw new IOException("peer user " + user + " has no uid in /etc/passwd");
    }
}
