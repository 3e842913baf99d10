package org.sls.slsd.checkpoint;

import org.sls.slos.FormatOptions;
import org.sls.slos.PartitionRecord;
import org.sls.slos.Slos;
import org.sls.slsd.checkpoint.manifest.Manifest;
import org.sls.slsd.checkpoint.manifest.ManifestCodec;
import org.sls.slsd.linux.KernelFeatures;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.TestPrograms;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/** Test helper: a fresh slos store, an engine on it and the workload programs. Not thread-safe. */
final class EngineFixture implements AutoCloseable {
    static final KernelFeatures FEATURES = KernelFeatures.probe();
    final Path dir;
    final Slos store;
    final CheckpointEngine engine;
    final TestPrograms programs;

    EngineFixture(Path dir) {
        this(dir, FEATURES);
    }

    EngineFixture(Path dir, KernelFeatures features) {
        this(dir, features, 4L << 30);
    }

    EngineFixture(Path dir, KernelFeatures features, long storeSize) {
        this(dir, features, storeSize, CheckpointEngine.DEFAULT_STAGING_MAX);
    }

    EngineFixture(Path dir, KernelFeatures features, long storeSize, long stagingMaxBytes) {
        this.dir = dir;
        Path img = dir.resolve("store.img");
        Slos.format(img, FormatOptions.defaults().withSize(storeSize));
        this.store = Slos.open(img, null);
        this.programs = new TestPrograms(dir);
        this.engine = new CheckpointEngine(store, features, programs.reaper(), stagingMaxBytes);
    }

    void partition(String name) {
        store.createPartition(new PartitionRecord(name, PartitionRecord.BACKEND_SLOS, "delta", 0, 0, System.currentTimeMillis()));
    }

    Manifest manifest(String partition, long epoch) {
        return ManifestCodec.decode(store.readBlob(partition, epoch, Manifest.BLOB));
    }

    MemoryView memory(String partition, long epoch, int pid) {
        return new MemoryView(store.reader(partition, epoch), manifest(partition, epoch).process(pid));
    }



    static Map<String, String> fields(String line) {
        Map<String, String> m = new TreeMap<>();
        for (String kv : line.trim().split(" ")) {
            int eq = kv.indexOf('=');
            if (eq > 0) {
                m.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
        return m;
    }


    /** What "never harm the target" compares: maps, fds, signal state, tracer. */
    static String snapshot(int pid) throws Exception {
        Map<String, String> s = ProcFs.status(pid);
        return Files.readString(Path.of("/proc/" + pid + "/maps")) + "\nfds=" + ProcFs.fds(pid)
                + "\nSigPnd=" + s.get("SigPnd") + " ShdPnd=" + s.get("ShdPnd") + " SigBlk=" + s.get("SigBlk")
                + " SigIgn=" + s.get("SigIgn") + " SigCgt=" + s.get("SigCgt") + " TracerPid=" + s.get("TracerPid")
                + " Threads=" + s.get("Threads");
    }

    @Override
    public void close() {
        engine.close();
        programs.close();
        store.close();
    }
}
