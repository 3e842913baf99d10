package org.sls.slsd.checkpoint;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.slsd.linux.TestPrograms;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Pipelined checkpoints: the next one is captured while the previous one is still being written,
 * in epoch order; the staging bound makes the next capture wait (back-pressure); a pipe that a
 * process outside the partition picked up since the last scan is still refused.
 */
class PipelineTest {
    @TempDir
    Path tmp;

    /** Holds the writer at its first "resumed" step until released. */
    private static CountDownLatch holdFirstWrite(EngineFixture fx, CountDownLatch entered) {
        CountDownLatch release = new CountDownLatch(1);
        fx.engine.onStep(s -> {
            if (s.equals("resumed") && entered.getCount() > 0) {
                entered.countDown();
                try {
                    release.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        return release;
    }

    @Test
    void theNextCheckpointIsCapturedWhileThePreviousIsWritten() throws Exception {
        try (EngineFixture fx = new EngineFixture(tmp)) {
            fx.partition("p");
            Path out = tmp.resolve("c.out");
            int pid = fx.programs.start("counter", List.of(out.toString(), "512", "20"), -1);
            TestPrograms.awaitLine(out, l -> l.startsWith("counter="), Duration.ofSeconds(10));
            fx.engine.attach("p", pid, 0);
            CountDownLatch entered = new CountDownLatch(1);
            CountDownLatch release = holdFirstWrite(fx, entered);
            CompletableFuture<CheckpointResult> first = fx.engine.checkpointAsync("p", false, "delta", () -> 0, false, r -> { });
            assertTrue(entered.await(60, TimeUnit.SECONDS), "the first checkpoint reached its store writes");
            // the first is held in its writes: the second is captured all the same
            CompletableFuture<CheckpointResult> second = fx.engine.checkpointAsync("p", false, "delta", () -> 0, false, r -> { });
            assertFalse(first.isDone(), "the first is still being written");
            List<LongOperations.Snapshot> ops = fx.engine.operations().current("p");
            assertTrue(ops.stream().anyMatch(o -> o.stage().equals("writing") && o.bytesTotal() > 0), ops.toString());
            release.countDown();
            CheckpointResult r1 = first.get(60, TimeUnit.SECONDS);
            CheckpointResult r2 = second.get(60, TimeUnit.SECONDS);
            fx.engine.onStep(s -> { });
            assertTrue(r2.epoch() > r1.epoch());
            assertEquals(r1.epoch(), r2.parentEpoch(), "the second builds on the first");
            assertEquals(r1.epoch(), fx.manifest("p", r2.epoch()).parentEpoch());
            assertTrue(r2.pages() < r1.pages(), "the second is a delta: " + r2.pages() + " pages after " + r1.pages());
            assertEquals(List.of(r1.epoch(), r2.epoch()), fx.store.epochs("p").stream().map(org.sls.slos.EpochInfo::epoch).toList());
            // and the chain goes on as usual once nothing is in flight
            CheckpointResult r3 = fx.engine.checkpoint("p", false, "delta", r2.epoch());
            assertEquals(r2.epoch(), r3.parentEpoch());
            assertTrue(fx.engine.operations().current("p").isEmpty());
            assertEquals(0, fx.engine.stagingInUse(), "staging memory given back");
        }
    }

    @Test
    void aFullStagingBoundMakesTheNextCaptureWait() throws Exception {
        // one byte: only one checkpoint may hold staging memory at a time
        try (EngineFixture fx = new EngineFixture(tmp, EngineFixture.FEATURES, 4L << 30, 1)) {
            fx.partition("p");
            Path out = tmp.resolve("c.out");
            int pid = fx.programs.start("counter", List.of(out.toString(), "256", "20"), -1);
            TestPrograms.awaitLine(out, l -> l.startsWith("counter="), Duration.ofSeconds(10));
            fx.engine.attach("p", pid, 0);
            CountDownLatch entered = new CountDownLatch(1);
            CountDownLatch release = holdFirstWrite(fx, entered);
            CompletableFuture<CheckpointResult> first = fx.engine.checkpointAsync("p", false, "delta", () -> 0, false, r -> { });
            assertTrue(entered.await(60, TimeUnit.SECONDS));
            CompletableFuture<CompletableFuture<CheckpointResult>> second = CompletableFuture.supplyAsync(
                    () -> fx.engine.checkpointAsync("p", false, "delta", () -> 0, false, r -> { }));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (fx.engine.operations().current("p").stream().noneMatch(o -> o.stage().equals("waiting for staging memory"))) {
                assertTrue(System.nanoTime() < deadline, "the second capture waits for staging memory");
                Thread.sleep(10);
            }
            assertFalse(second.isDone(), "not captured while the first holds the staging memory");
            release.countDown();
            CheckpointResult r1 = first.get(60, TimeUnit.SECONDS);
            CheckpointResult r2 = second.get(60, TimeUnit.SECONDS).get(60, TimeUnit.SECONDS);
            fx.engine.onStep(s -> { });
            assertEquals(r1.epoch(), r2.parentEpoch());
            assertTrue(r2.phasesMicros().getOrDefault("stagingwait", 0L) > 0, r2.phasesMicros().toString());
        }
    }

    /**
     * With --keep, the epochs beyond it are deleted after those waiting for an epoch were told it
     * is durable (deleting is no part of its durability), and before the checkpoint's caller hears
     * of it (what it lists next is pruned already).
     */
    @Test
    void keptEpochsArePrunedAfterTheWaitersHearAndBeforeTheCaller() throws Exception {
        try (EngineFixture fx = new EngineFixture(tmp)) {
            fx.store.createPartition(new org.sls.slos.PartitionRecord("k", org.sls.slos.PartitionRecord.BACKEND_SLOS,
                    "delta", 0, 2, System.currentTimeMillis()));
            Path out = tmp.resolve("c.out");
            int pid = fx.programs.start("counter", List.of(out.toString(), "512", "20"), -1);
            TestPrograms.awaitLine(out, l -> l.startsWith("counter="), Duration.ofSeconds(10));
            fx.engine.attach("k", pid, 0);
            for (int i = 1; i <= 4; i++) {
                int[] atDurable = new int[1];
                CheckpointResult r = fx.engine.checkpointAsync("k", false, "delta", () -> 0, false,
                        d -> atDurable[0] = fx.store.epochs("k").size()).get(60, TimeUnit.SECONDS);
                List<Long> epochs = fx.store.epochs("k").stream().map(org.sls.slos.EpochInfo::epoch).toList();
                assertEquals(Math.min(i, 3), atDurable[0], "epochs when the waiters heard of epoch " + r.epoch());
                assertEquals(Math.min(i, 2), epochs.size(), "epochs kept after epoch " + r.epoch() + ": " + epochs);
                assertEquals(r.epoch(), epochs.get(epochs.size() - 1));
            }
        }
    }

    @Test
    void aPipePickedUpOutsideSinceTheLastCheckpointIsRefused() throws Exception {
        try (EngineFixture fx = new EngineFixture(tmp)) {
            fx.partition("p");
            Path out = tmp.resolve("py.out");
            int pid = fx.programs.startCommand(List.of("python3", "-c",
                    "import os,time\nr,w=os.pipe()\nos.write(w,b'abc')\nopen('" + out + "','w').write('fd=%d\\n' % r)\ntime.sleep(600)\n"));
            String line = TestPrograms.awaitLine(out, l -> l.startsWith("fd="), Duration.ofSeconds(20));
            int fd = Integer.parseInt(line.substring(3).trim());
            fx.engine.attach("p", pid, 0);
            CheckpointResult ok = fx.engine.checkpoint("p", false, "delta", 0);
            // a process outside the partition takes the pipe (after the scan of that checkpoint)
            Path taken = tmp.resolve("taken");
            int outsider = fx.programs.startCommand(List.of("/bin/sh", "-c",
                    "exec 7</proc/" + pid + "/fd/" + fd + "; echo yes > " + taken + "; exec sleep 600"));
            TestPrograms.awaitLine(taken, "yes"::equals, Duration.ofSeconds(20));
            assertTrue(Files.readSymbolicLink(Path.of("/proc/" + outsider + "/fd/7")).toString().startsWith("pipe:"));
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> fx.engine.checkpoint("p", false, "delta", ok.epoch()));
            assertTrue(e.getMessage().contains("pipe also held outside the partition by pid " + outsider), e.getMessage());
            assertEquals(List.of(ok.epoch()), fx.store.epochs("p").stream().map(org.sls.slos.EpochInfo::epoch).toList());
            // with --external it is saved, its end coming back on /dev/null
            CheckpointResult ext = fx.engine.checkpoint("p", false, "delta", ok.epoch(), true);
            assertTrue(fx.manifest("p", ext.epoch()).process(pid).fds().stream()
                    .anyMatch(f -> f.fd() == fd && f.detail("external", "false").equals("true")));
        }
    }
}
