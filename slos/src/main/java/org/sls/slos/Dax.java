package org.sls.slos;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Tells whether a file lives on a DAX (pmem) file system, from /proc/self/mountinfo. Stateless; thread-safe. */
final class Dax {
    private Dax() {}

    static boolean onDax(Path file) {
        try {
            Path real = file.toRealPath();
            List<String> lines = Files.readAllLines(Path.of("/proc/self/mountinfo"));
            String best = null;
            String bestOpts = "";
            for (String l : lines) {
                // id parent major:minor root mountpoint options ... - fstype source superoptions
                String[] f = l.split(" ");
                if (f.length < 5) {
                    continue;
                }
                String mp = f[4].replace("\\040", " ");
                if (real.startsWith(mp) && (best == null || mp.length() > best.length())) {
                    best = mp;
                    bestOpts = l;
                }
            }
            return bestOpts.contains("dax");
        } catch (IOException e) {
            return false;
        }
    }
}
