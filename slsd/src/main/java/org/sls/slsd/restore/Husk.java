package org.sls.slsd.restore;

import org.sls.slsd.checkpoint.manifest.ProcessImage;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One process being rebuilt: its checkpointed image, the pid it got, and an injector per thread
 * created so far (checkpointed tid to injector). Not thread-safe: owned by the restore's tracer
 * thread.
 */
final class Husk {
    final ProcessImage image;
    final int pid;
    final HuskInjector leader;
    final Map<Integer, HuskInjector> threads = new LinkedHashMap<>();

    Husk(ProcessImage image, int pid, HuskInjector leader) {
        this.image = image;
        this.pid = pid;
        this.leader = leader;
        threads.put(image.pid(), leader);
    }

    int checkpointedPid() { return image.pid(); }

    @Override
    public String toString() {
        return image.pid() == pid ? "pid " + pid : "pid " + image.pid() + " (restored as " + pid + ")";
    }
}
