package org.sls.tests;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.libsls.protocol.Codec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Restore as a user runs it: checkpoint, SIGKILL, restore with slsctl, and the program carries
 * on from its checkpointed state with its memory intact.
 */
class RestoreCliTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private final List<Long> started = new ArrayList<>();

    @AfterEach
    void endWorkloads() {
        started.forEach(Workloads::kill);
    }

    /** Spawns the counter in a partition; returns its pid once it reports. */
    private long spawnCounter(Sls sls, String partition, Path report) {
        CliResult spawn = sls.ctl("spawn", "-o", partition, "--", Workloads.binary("counter").toString(), report.toString());
        assertEquals(0, spawn.exit(), spawn.all() + sls.daemonLog());
        long pid = Long.parseLong(spawn.out().trim());
        started.add(pid);
        Workloads.awaitGrowth(report, 2, WAIT);
        return pid;
    }

    /** Checkpoints and returns {epoch, last count reported before, last count reported after}. */
    private long[] checkpoint(Sls sls, String partition, Path report) {
        long before = lastCount(report);
        CliResult ck = sls.ctl("checkpoint", "-o", partition);
        assertEquals(0, ck.exit(), ck.all() + sls.daemonLog());
        return new long[]{Long.parseLong(ck.out().trim()), before, lastCount(report)};
    }

    private static long lastCount(Path report) {
        List<String> l = Workloads.lines(report);
        return Workloads.field(l.get(l.size() - 1), "count");
    }

    /** Asserts that lines after {@code from} come from {@code pid}, continue from the checkpoint and stay consistent. */
    private static void assertCarriesOn(Path report, int from, long pid, long[] ck) {
        Workloads.awaitGrowth(report, from + 2, WAIT);
        List<String> after = Workloads.lines(report).subList(from, Workloads.count(report));
        long first = Workloads.field(after.get(0), "count");
        assertTrue(first >= ck[1] && first <= ck[2] + 1,
                "restored counter resumes from the checkpoint (between " + ck[1] + " and " + (ck[2] + 1) + "): " + after.get(0));
        long prev = first - 1;
        for (String line : after) {
            assertEquals(pid, Workloads.field(line, "pid"), line);
            assertEquals(prev + 1, Workloads.field(line, "count"), "counts continue one by one: " + after);
            assertEquals(1, Workloads.field(line, "ok"), "memory checksum matches the count: " + line);
            prev++;
        }
    }

    @Test
    void checkpointKillRestoreCarriesOnUnderTheSamePidThenAgain(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("counter.log");
        try (Sls sls = Sls.start(tmp)) {
            assertEquals(0, sls.ctl("partadd", "-o", "c").exit());
            long pid = spawnCounter(sls, "c", report);
            long[] ck = checkpoint(sls, "c", report);
            Workloads.awaitGrowth(report, Workloads.count(report) + 3, WAIT); // it runs past the checkpoint
            Workloads.kill(pid);
            Workloads.awaitGone(pid, WAIT);
            int from = Workloads.count(report);

            CliResult r = sls.ctl("restore", "-o", "c", "--json");
            assertEquals(0, r.exit(), r.all() + sls.daemonLog());
            JsonNode j = Codec.MAPPER.readTree(r.out());
            assertEquals(ck[0], j.get("epoch").longValue());
            assertEquals(pid, j.get("pids").get(0).longValue(), "the original pid comes back");
            assertTrue(j.get("totalMicros").longValue() > 0);
            assertCarriesOn(report, from, pid, ck);
            assertTrue(sls.ctl("status", "-H").out().contains("\t" + pid + "\t"), "the restored process is attached again");

            // the second restart: checkpoint the restored process, kill it, restore again
            long[] ck2 = checkpoint(sls, "c", report);
            CliResult snaps = sls.ctl("listsnaps", "-o", "c", "-H");
            assertTrue(snaps.out().lines().anyMatch(l -> l.startsWith("c\t" + ck2[0] + "\t" + ck[0] + "\t")),
                    "the next epoch builds on the restored one: " + snaps.out());
            Workloads.kill(pid);
            Workloads.awaitGone(pid, WAIT);
            int from2 = Workloads.count(report);
            CliResult again = sls.ctl("restore", "-o", "c");
            assertEquals(0, again.exit(), again.all() + sls.daemonLog());
            assertCarriesOn(report, from2, pid, ck2);
            // a partition that never had files in slfs restores without a word about them
            assertTrue(sls.daemonLog().lines().noneMatch(l -> l.contains(" WARN ")), sls.daemonLog());
        }
    }

    /** The children of a process (its main thread's). */
    private static List<Long> children(long pid) throws java.io.IOException {
        String c = Files.readString(Path.of("/proc/" + pid + "/task/" + pid + "/children")).trim();
        return c.isEmpty() ? List.of() : java.util.Arrays.stream(c.split("\\s+")).map(Long::parseLong).toList();
    }

    @Test
    void aTreeCheckpointedWithItsDescendantsIsCheckpointedAgainAfterItsRestoreAndRestoredAgain(@TempDir Path tmp)
            throws Exception {
        // only the shell is attached; its child, the counter, joins each checkpoint through -r. A
        // checkpoint after the restore must not scan the dead counter's memory through what the
        // dirty tracker kept for the pid: it tracks the restored process afresh
        Path report = tmp.resolve("counter.log");
        try (Sls sls = Sls.start(tmp)) {
            assertEquals(0, sls.ctl("partadd", "-o", "t").exit());
            CliResult spawn = sls.ctl("spawn", "-o", "t", "--", "/bin/sh", "-c", "\"$0\" \"$1\" & wait",
                    Workloads.binary("counter").toString(), report.toString());
            assertEquals(0, spawn.exit(), spawn.all() + sls.daemonLog());
            long shell = Long.parseLong(spawn.out().trim());
            started.add(shell);
            Workloads.awaitGrowth(report, 2, WAIT);
            List<Long> kids = children(shell);
            assertEquals(1, kids.size(), "the shell's child: " + kids);
            long counter = kids.get(0);
            started.add(counter);
            long[] ck = new long[3];
            for (int round = 0; round < 2; round++) {
                ck[1] = lastCount(report);
                CliResult c = sls.ctl("checkpoint", "-o", "t", "-r");
                assertEquals(0, c.exit(), "checkpoint " + (round + 1) + " of the tree: " + c.all() + sls.daemonLog());
                ck[0] = Long.parseLong(c.out().trim());
                ck[2] = lastCount(report);
                Workloads.awaitGrowth(report, Workloads.count(report) + 3, WAIT);
                Workloads.kill(shell);
                Workloads.kill(counter);
                Workloads.awaitGone(shell, WAIT);
                Workloads.awaitGone(counter, WAIT);
                int from = Workloads.count(report);
                CliResult r = sls.ctl("restore", "-o", "t", "--json");
                assertEquals(0, r.exit(), r.all() + sls.daemonLog());
                assertEquals(ck[0], Codec.MAPPER.readTree(r.out()).get("epoch").longValue());
                assertEquals(List.of(counter), children(shell), "the counter is the shell's child again");
                assertCarriesOn(report, from, counter, ck);
            }
        }
    }

    @Test
    void anOlderEpochAndATakenPidAndNewPidsBesideTheOriginal(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("counter.log");
        try (Sls sls = Sls.start(tmp)) {
            assertEquals(0, sls.ctl("partadd", "-o", "c").exit());
            long pid = spawnCounter(sls, "c", report);
            long[] old = checkpoint(sls, "c", report);
            Workloads.awaitGrowth(report, Workloads.count(report) + 3, WAIT);
            checkpoint(sls, "c", report);

            CliResult taken = sls.ctl("restore", "-o", "c");
            assertEquals(1, taken.exit(), taken.all());
            assertTrue(taken.err().contains("PID " + pid) || taken.err().contains("pid " + pid), taken.all());
            assertTrue(taken.err().contains("--new-pids") || taken.err().contains("taken"), taken.all());

            int from = Workloads.count(report);
            CliResult clone = sls.ctl("restore", "-o", "c", "--epoch", Long.toString(old[0]), "--new-pids", "--json");
            assertEquals(0, clone.exit(), clone.all() + sls.daemonLog());
            long copy = Codec.MAPPER.readTree(clone.out()).get("pids").get(0).longValue();
            started.add(copy);
            assertNotEquals(pid, copy);
            assertTrue(Files.exists(Path.of("/proc/" + pid)), "the original still runs");
            Workloads.awaitLine(report, l -> l.startsWith("pid=" + copy + " "), WAIT);
            List<String> copyLines = Workloads.lines(report).subList(from, Workloads.count(report)).stream()
                    .filter(l -> l.startsWith("pid=" + copy + " ")).toList();
            long first = Workloads.field(copyLines.get(0), "count");
            assertTrue(first >= old[1] && first <= old[2] + 1, "the clone starts from the older epoch: " + copyLines.get(0));
            assertEquals(1, Workloads.field(copyLines.get(0), "ok"));
        }
    }

    /**
     * {@code kill -9} then {@code restore} at once: the killed process's pid is free only once
     * its parent has reaped it. The restore waits a moment for that, and names a zombie that
     * stays with the parent that does not reap it. The counter's parent here is a python3
     * program outside the partition that reaps it only when told, half a second late.
     */
    @Test
    void aKilledProcessNotYetReapedIsWaitedForAndAZombieThatStaysIsNamed(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("counter.log");
        Path reap = tmp.resolve("reap-now");
        Path parentPy = tmp.resolve("parent.py");
        Files.writeString(parentPy, String.join("\n",
                "import os, subprocess, sys, time",
                "counter, report, flag = sys.argv[1:4]",
                "child = subprocess.Popen([counter, report], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,",
                "                         stderr=subprocess.DEVNULL)",
                "print(child.pid, flush=True)",
                "while not os.path.exists(flag):",
                "    time.sleep(0.05)",
                "time.sleep(0.5)",
                "child.wait()",
                "time.sleep(3600)",
                ""));
        Process parent = new ProcessBuilder("python3", parentPy.toString(), Workloads.binary("counter").toString(),
                report.toString(), reap.toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        started.add(parent.pid());
        long pid = Workloads.reportedPid(parent);
        started.add(pid);
        Workloads.awaitGrowth(report, 2, WAIT);
        try (Sls sls = Sls.start(tmp)) {
            assertEquals(0, sls.ctl("partadd", "-o", "z").exit());
            assertEquals(0, sls.ctl("attach", "-p", Long.toString(pid), "-o", "z").exit());
            long[] ck = checkpoint(sls, "z", report);

            ProcessHandle.of(pid).orElseThrow().destroyForcibly(); // SIGKILL, no wait
            long until = System.nanoTime() + WAIT.toNanos();
            while (!Files.readString(Path.of("/proc/" + pid + "/stat")).contains(") Z ")) {
                assertTrue(System.nanoTime() < until, "pid " + pid + " became a zombie");
                Sls.sleep(10);
            }
            CliResult zombie = sls.ctl("restore", "-o", "z");
            assertEquals(1, zombie.exit(), zombie.all());
            assertTrue(zombie.err().contains("PID " + pid + " is held by a zombie (counter) that its parent, PID "
                    + parent.pid() + " (python3), has not reaped"), zombie.all());

            // reaped half a second after this: the restore waits for it, then goes through
            int from = Workloads.count(report);
            Files.createFile(reap);
            CliResult restore = sls.ctl("restore", "-o", "z");
            assertEquals(0, restore.exit(), restore.all() + sls.daemonLog());
            assertCarriesOn(report, from, pid, ck);
        }
    }

    @Test
    void afterARebootAFreshSlsdRestoresFromTheStoreAlone(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("counter.log");
        Sls sls = Sls.start(tmp);
        try (sls) {
            assertEquals(0, sls.ctl("partadd", "-o", "persist").exit());
            long pid = spawnCounter(sls, "persist", report);
            long[] ck = checkpoint(sls, "persist", report);
            assertEquals(0, sls.stopDaemon(), sls.daemonLog());
            Workloads.kill(pid);
            Workloads.awaitGone(pid, WAIT);

            sls.startDaemon();
            CliResult snaps = sls.ctl("listsnaps", "-o", "persist", "-H");
            assertTrue(snaps.out().startsWith("persist\t" + ck[0] + "\t"), snaps.all());
            int from = Workloads.count(report);
            CliResult r = sls.ctl("restore", "-o", "persist");
            assertEquals(0, r.exit(), r.all() + sls.daemonLog());
            assertEquals(Long.toString(pid), r.out().trim());
            assertCarriesOn(report, from, pid, ck);
        }
    }

    @Test
    void aStoppedRestoreWaitsForSigcont(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("counter.log");
        try (Sls sls = Sls.start(tmp)) {
            assertEquals(0, sls.ctl("partadd", "-o", "s").exit());
            long pid = spawnCounter(sls, "s", report);
            long[] ck = checkpoint(sls, "s", report);
            Workloads.kill(pid);
            Workloads.awaitGone(pid, WAIT);
            int from = Workloads.count(report);
            CliResult r = sls.ctl("restore", "-o", "s", "-s");
            assertEquals(0, r.exit(), r.all() + sls.daemonLog());
            Sls.sleep(500);
            assertEquals(from, Workloads.count(report), "stopped: it does not run yet");
            String state = Files.readAllLines(Path.of("/proc/" + pid + "/status")).stream().filter(l -> l.startsWith("State:")).findFirst().orElse("");
            assertTrue(state.contains("T"), state);
            assertEquals(0, new ProcessBuilder("kill", "-CONT", Long.toString(pid)).start().waitFor());
            assertCarriesOn(report, from, pid, ck);
        }
    }

    @Test
    void aPython3InterpreterMidLoopCarriesOn(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("python.log");
        String program = String.join("\n",
                "import os, time, hashlib",
                "state = {'n': 0, 'h': hashlib.sha256()}",
                "while True:",
                "    state['n'] += 1",
                "    state['h'].update(str(state['n']).encode())",
                "    expect = hashlib.sha256(''.join(str(i) for i in range(1, state['n'] + 1)).encode()).hexdigest()",
                "    with open(os.environ['REPORT'], 'a') as f:",
                "        f.write('pid=%d count=%d ok=%d\\n' % (os.getpid(), state['n'], state['h'].hexdigest() == expect))",
                "    time.sleep(0.05)");
        Path script = tmp.resolve("loop.py");
        Files.writeString(script, program);
        try (Sls sls = Sls.start(tmp)) {
            assertEquals(0, sls.ctl("partadd", "-o", "py").exit());
            ProcessBuilder pb = new ProcessBuilder("/usr/bin/python3", script.toString())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectErrorStream(true);
            pb.environment().put("REPORT", report.toString());
            Process py = pb.start();
            started.add(py.pid());
            Workloads.awaitGrowth(report, 3, WAIT);
            assertEquals(0, sls.ctl("attach", "-p", Long.toString(py.pid()), "-o", "py").exit());
            long[] ck = checkpoint(sls, "py", report);
            Workloads.kill(py.pid());
            Workloads.awaitGone(py.pid(), WAIT);
            int from = Workloads.count(report);
            CliResult r = sls.ctl("restore", "-o", "py");
            assertEquals(0, r.exit(), r.all() + sls.daemonLog());
            assertCarriesOn(report, from, py.pid(), ck);
        }
    }

    @Test
    void restoringWhatDoesNotExistSaysSo(@TempDir Path tmp) {
        try (Sls sls = Sls.start(tmp)) {
            assertEquals(0, sls.ctl("partadd", "-o", "empty").exit());
            CliResult none = sls.ctl("restore", "-o", "empty");
            assertEquals(1, none.exit(), none.all());
            assertTrue(none.err().contains("partition empty has no checkpoint to restore"), none.all());
            CliResult noEpoch = sls.ctl("restore", "-o", "empty", "--epoch", "77");
            assertTrue(noEpoch.err().contains("partition empty has no checkpoint at epoch 77"), noEpoch.all());
            CliResult noPart = sls.ctl("restore", "-o", "ghost");
            assertTrue(noPart.err().contains("no partition named ghost"), noPart.all());
        }
    }
}
