package org.sls.slsd.checkpoint;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The checkpoints and restores running now, with how many bytes they have moved of how many, for
 * the {@code progress} request (the progress line of {@code slsctl checkpoint} and {@code restore}
 * on a terminal). Thread-safe.
 */
public final class LongOperations {
    /** One operation as the {@code progress} request reports it. */
    public record Snapshot(String partition, String operation, String stage, long bytesDone, long bytesTotal,
                           long elapsedMillis) {}

    private final Set<Operation> running = ConcurrentHashMap.newKeySet();

    /** An operation under way; {@link #close()} when it ends. Thread-safe. */
    public final class Operation implements AutoCloseable {
        private final String partition;
        private final String name;
        private final long started = System.nanoTime();
        private volatile String stage = "";
        private volatile long total;
        private final AtomicLong done = new AtomicLong();

        private Operation(String partition, String name) {
            this.partition = partition;
            this.name = name;
        }

        /** A new stage with {@code totalBytes} to move (0: unknown); the bytes done start again at 0. */
        public void stage(String stage, long totalBytes) {
            this.done.set(0);
            this.total = totalBytes;
            this.stage = stage;
        }

        public void add(long bytes) {
            done.addAndGet(bytes);
        }

        Snapshot snapshot() {
            return new Snapshot(partition, name, stage, done.get(), total, (System.nanoTime() - started) / 1_000_000);
        }

        @Override
        public void close() {
            running.remove(this);
        }
    }

    /** Starts tracking an operation ("checkpoint", "restore") of a partition. */
    public Operation begin(String partition, String operation) {
        Operation o = new Operation(partition, operation);
        running.add(o);
        return o;
    }

    /** An operation tracked nowhere, for callers without a registry. */
    public static Operation untracked() {
        return new LongOperations().new Operation("", "");
    }

    /** The operations running now, of one partition or (null) all, oldest first. */
    public List<Snapshot> current(String partition) {
        List<Snapshot> out = new ArrayList<>();
        for (Operation o : running) {
            if (partition == null || o.partition.equals(partition)) {
                out.add(o.snapshot());
            }
        }
        out.sort((a, b) -> Long.compare(b.elapsedMillis(), a.elapsedMillis()));
        return out;
    }
}
