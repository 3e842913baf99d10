package org.sls.slfs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Mount table look-ups and lazy unmount through fusermount. Stateless; thread-safe. */
final class Mounts {
    private static final Logger log = LoggerFactory.getLogger(Mounts.class);

    private Mounts() {
    }

    /** True when {@code dir} is a mount point in this mount namespace (from /proc/self/mountinfo). */
    static boolean isMounted(Path dir) {
        String want = dir.toAbsolutePath().normalize().toString();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8)) {
                String[] f = line.split(" ");
                if (f.length > 4 && unescape(f[4]).equals(want)) {
                    return true;
                }
            }
        } catch (IOException e) {
            log.warn("slfs: cannot read /proc/self/mountinfo: {}", e.getMessage());
        }
        return false;
    }

    private static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    static boolean waitMounted(Path dir, long millis) {
        return waitFor(dir, true, millis);
    }

    static boolean waitUnmounted(Path dir, long millis) {
        return waitFor(dir, false, millis);
    }

    private static boolean waitFor(Path dir, boolean mounted, long millis) {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (isMounted(dir) != mounted) {
            if (System.nanoTime() > end) {
                return false;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    /** {@code fusermount -u -z DIR}, then {@code umount -l DIR} if that did not do it. */
    static void unmountLazy(Path dir) {
        String d = dir.toAbsolutePath().normalize().toString();
        for (String[] cmd : new String[][] {{"fusermount", "-u", "-z", d}, {"umount", "-l", d}}) {
            try {
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
                int rc = p.waitFor();
                if (rc != 0) {
                    log.debug("slfs: {} exited {}: {}", String.join(" ", cmd), rc, out);
                }
            } catch (IOException e) {
                log.debug("slfs: cannot run {}: {}", cmd[0], e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (!isMounted(dir)) {
                return;
            }
        }
        log.warn("slfs: {} is still mounted after fusermount -u -z and umount -l", d);
    }
}
