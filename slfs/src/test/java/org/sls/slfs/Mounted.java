package org.sls.slfs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.sls.slos.FormatOptions;
import org.sls.slos.OpenOptions;
import org.sls.slos.PartitionRecord;
import org.sls.slos.Slos;

/**
 * Test fixture: a store in a directory, slfs mounted on it, partitions, and shell commands run
 * in the mount. {@link #close()} always unmounts (lazily by path if needed). Not thread-safe.
 */
final class Mounted implements AutoCloseable {
    final Path dir;
    final Path image;
    final Path mnt;
    Slos store;
    Slfs slfs;
    private final SnapshotContent content;

    Mounted(Path dir, SnapshotContent content, String... partitions) {
        this.dir = dir;
        this.image = dir.resolve("store.img");
        this.mnt = dir.resolve("mnt");
        this.content = content;
        Slos.format(image, FormatOptions.defaults().withSize(2L << 30));
        store = Slos.open(image, null, OpenOptions.defaults().withBackgroundCleaner(false));
        for (String p : partitions) {
            createPartition(p);
        }
        slfs = new Slfs(store, content);
        try {
            slfs.mount(mnt);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    void createPartition(String p) {
        store.createPartition(new PartitionRecord(p, PartitionRecord.BACKEND_SLOS, "full", 0, 0, System.currentTimeMillis()));
    }

    /** Closes slfs and the store and opens both again (a daemon restart). */
    void restart() {
        slfs.close();
        store.close();
        store = Slos.open(image, null, OpenOptions.defaults().withBackgroundCleaner(false));
        slfs = new Slfs(store, content);
        slfs.mount(mnt);
    }

    /** Runs {@code bash -c script} in the mount; asserts exit 0; returns stdout. */
    String sh(String script) {
        Result r = run(script);
        assertEquals(0, r.rc, () -> "script failed: " + script + "\nstdout: " + r.out + "\nstderr: " + r.err);
        return r.out;
    }

    record Result(int rc, String out, String err) {}

    Result run(String script) {
        try {
            Process p = new ProcessBuilder("bash", "-c", script).directory(mnt.toFile()).start();
            p.getOutputStream().close();
            var err = new java.io.ByteArrayOutputStream();
            Thread t = new Thread(() -> {
                try {
                    p.getErrorStream().transferTo(err);
                } catch (IOException ignored) {
                    // the process went away
                }
            });
            t.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out: " + script);
            }
            t.join();
            return new Result(p.exitValue(), out, err.toString(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        try {
            if (slfs != null) {
                slfs.close();
            }
        } finally {
            if (Mounts.isMounted(mnt)) {
                Mounts.unmountLazy(mnt);
            }
            if (store != null) {
                store.close();
            }
        }
    }
}
