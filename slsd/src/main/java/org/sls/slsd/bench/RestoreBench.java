package org.sls.slsd.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.sls.slos.FormatOptions;
import org.sls.slos.PartitionRecord;
import org.sls.slos.Slos;
import org.sls.slsd.checkpoint.CheckpointEngine;
import org.sls.slsd.checkpoint.CheckpointResult;
import org.sls.slsd.linux.KernelFeatures;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.Reaper;
import org.sls.slsd.linux.Spawner;
import org.sls.slsd.restore.RestoreEngine;
import org.sls.slsd.restore.RestoreResult;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Restore benchmark (issue 5): a 1 GiB process (4 KiB pages, every page touched) is checkpointed
 * in full, SIGKILLed, and restored under its PID from the store several times; each run measures
 * the wall time from the call to the process running again, with the breakdown (reading slos,
 * writing memory, injected syscalls), and the restored process then checks every page itself.
 * Writes {@code restore.json} into the directory given as the only argument. Needs root and gcc.
 * Not thread-safe; a main program.
 */
public final class RestoreBench {
    private static final int RUNS = 5;
    private static final String BIGMEM_C = """
            #include <signal.h>
            #include <stdint.h>
            #include <stdio.h>
            #include <stdlib.h>
            #include <unistd.h>
            #include <sys/mman.h>
            static volatile sig_atomic_t go;
            static void on_usr1(int s) { (void) s; go++; }
            int main(int argc, char **argv) {
                size_t len = (size_t) atol(argv[1]) << 20;
                struct sigaction sa = { 0 };
                sa.sa_handler = on_usr1;
                sigaction(SIGUSR1, &sa, NULL);
                uint64_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                madvise(m, len, MADV_NOHUGEPAGE);
                size_t pages = len / 4096;
                for (size_t p = 0; p < pages; p++) { m[p * 512] = p + 1; m[p * 512 + 511] = ~p; }
                sigset_t block, waitmask;
                sigemptyset(&block); sigaddset(&block, SIGUSR1);
                sigprocmask(SIG_BLOCK, &block, &waitmask);
                sigdelset(&waitmask, SIGUSR1);
                printf("ready\\n"); fflush(stdout);
                for (int round = 1;; round++) {
                    int seen = go;
                    while (go == seen) sigsuspend(&waitmask);
                    size_t bad = 0;
                    for (size_t p = 0; p < pages; p++) bad += m[p * 512] != p + 1 || m[p * 512 + 511] != ~p;
                    printf("verified %d pid=%d pages=%zu bad=%zu\\n", round, (int) getpid(), pages, bad); fflush(stdout);
                }
            }
            """;

    private RestoreBench() {}

    public static void main(String[] args) throws Exception {
        Path outDir = Path.of(args.length > 0 ? args[0] : ".");
        Files.createDirectories(outDir);
        Path work = Files.createTempDirectory("sls-restore-bench");
        Map<String, Object> result = new LinkedHashMap<>();
        KernelFeatures features = KernelFeatures.probe();
        result.put("kernel", features.kernelRelease());
        int pid = -1;
        try (Reaper reaper = new Reaper()) {
            Path bin = compile(work);
            Slos.format(work.resolve("store.img"), FormatOptions.defaults().withSize(4L << 30));
            try (Slos store = Slos.open(work.resolve("store.img"), null);
                 CheckpointEngine checkpoints = new CheckpointEngine(store, features, reaper);
                 RestoreEngine restores = new RestoreEngine(store, features, reaper)) {
                store.createPartition(new PartitionRecord("big", PartitionRecord.BACKEND_SLOS, "full", 0, 0,
                        System.currentTimeMillis()));
                Path out = work.resolve("big.out");
                pid = Spawner.spawn(new Spawner.Spec(List.of(bin.toString(), "1024"), null, null, null,
                        out.toString(), out.toString(), -1), reaper);
                await(out, "ready");
                checkpoints.attach("big", pid, 0);
                CheckpointResult cp = checkpoints.checkpoint("big", false, "full", 0);
                result.put("checkpoint_pages", cp.pages());
                result.put("checkpoint_frozen_ms", cp.frozenMicros() / 1000.0);
                checkpoints.detach(pid);

                List<Map<String, Object>> runs = new ArrayList<>();
                for (int i = 1; i <= RUNS; i++) {
                    Linux.killIfAlive(pid, 9);
                    awaitGone(pid);
                    long t0 = System.nanoTime();
                    RestoreResult r = restores.restore("big", cp.epoch(), false, false, 0);
                    long wall = (System.nanoTime() - t0) / 1000;
                    Linux.kill(pid, 10);
                    String verified = await(out, "verified 1 pid=" + pid);
                    if (!verified.endsWith(" bad=0")) {
                        throw new IllegalStateException("restored memory differs: " + verified);
                    }
                    Map<String, Object> run = new LinkedHashMap<>();
                    run.put("wall_ms", wall / 1000.0);
                    run.put("engine_total_ms", r.totalMicros() / 1000.0);
                    run.put("read_slos_ms", r.readMicros() / 1000.0);
                    run.put("write_memory_ms", r.writeMicros() / 1000.0);
                    run.put("injected_syscalls_ms", r.injectMicros() / 1000.0);
                    run.put("verified", verified);
                    runs.add(run);
                    Files.writeString(out, "");
                }
                result.put("runs", runs);
                result.put("wall_ms_first", runs.get(0).get("wall_ms"));
                result.put("wall_ms_median_warm", median(runs.subList(1, runs.size()), "wall_ms"));
                result.put("read_slos_ms_median_warm", median(runs.subList(1, runs.size()), "read_slos_ms"));
                result.put("write_memory_ms_median_warm", median(runs.subList(1, runs.size()), "write_memory_ms"));
                result.put("injected_syscalls_ms_median_warm", median(runs.subList(1, runs.size()), "injected_syscalls_ms"));
                result.put("note", "read_slos and write_memory are summed over the page workers (one per CPU, each"
                        + " reading a batch from slos then filling it into the process with UFFDIO_COPY), which run in"
                        + " parallel: the parts add up to more than the wall time");
                result.put("cpus", Runtime.getRuntime().availableProcessors());
                result.put("load_average_at_end", Files.readString(Path.of("/proc/loadavg")).trim());
            }
            result.put("goals", Map.of("wall_ms", 400));
        } finally {
            if (pid > 0) {
                Linux.killIfAlive(pid, 9);
            }
            deleteTree(work);
        }
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(outDir.resolve("restore.json").toFile(), result);
        System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(result));
    }

    private static double median(List<Map<String, Object>> runs, String key) {
        double[] v = runs.stream().mapToDouble(m -> (Double) m.get(key)).toArray();
        Arrays.sort(v);
        return v[v.length / 2];
    }

    private static void awaitGone(int pid) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (ProcFs.exists(pid)) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("pid " + pid + " still exists 30 s after SIGKILL");
            }
            Thread.sleep(5);
        }
    }

    private static Path compile(Path work) throws IOException, InterruptedException {
        Path src = work.resolve("bigmem.c");
        Files.writeString(src, BIGMEM_C);
        Path bin = work.resolve("bigmem");
        Process p = new ProcessBuilder("gcc", "-O2", "-o", bin.toString(), src.toString())
                .redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IOException("gcc: " + text);
        }
        return bin;
    }

    private static String await(Path file, String prefix) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (Files.exists(file)) {
                for (String l : Files.readAllLines(file)) {
                    if (l.startsWith(prefix)) {
                        return l;
                    }
                }
            }
            Thread.sleep(2);
        }
        throw new IllegalStateException("timed out waiting for '" + prefix + "' in " + file);
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(x);
            }
        }
    }
}
