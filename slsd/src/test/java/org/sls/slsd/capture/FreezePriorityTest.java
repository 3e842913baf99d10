package org.sls.slsd.capture;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.Sched;
import org.sls.slsd.linux.TestPrograms;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The freeze's realtime priority on real processes of 17 threads: raised while frozen, every
 * thread's own policy, nice value and reset-on-fork flag back after the thaw; realtime threads
 * and a switched-off boost leave everyone as they were.
 */
class FreezePriorityTest {
    @TempDir
    Path tmp;

    /** What a thread's scheduling is, as the kernel reports it: policy (with the reset flag), rt priority, nice. */
    private record Policy(int policy, int rtPriority, int nice) {
        static Policy of(int pid, int tid) throws Exception {
            String stat = Files.readString(Path.of("/proc/" + pid + "/task/" + tid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
            // after the comm: field 3 (state) is f[0]; nice is field 19, rt_priority 40
            return new Policy(Sched.policy(tid), Integer.parseInt(f[37]), Integer.parseInt(f[16]));
        }
    }

    private static Map<Integer, Policy> policies(int pid) throws Exception {
        Map<Integer, Policy> m = new LinkedHashMap<>();
        for (int tid : ProcFs.tasks(pid)) {
            m.put(tid, Policy.of(pid, tid));
        }
        return m;
    }

    /** Every thread of {@code pid} has the scheduling of {@code before} while frozen and after the thaw. */
    private static void assertUntouchedByAFreeze(int pid, Map<Integer, Policy> before) throws Exception {
        try (FrozenTree t = Freezer.freeze(List.of(pid), false, new HashSet<>())) {
            assertEquals(before, policies(pid), "while frozen");
        }
        assertEquals(before, policies(pid), "after the thaw");
    }

        private int start(TestPrograms programs, String... sched) throws Exception {
        Path out = tmp.resolve("threads.out");
        List<String> argv = new java.util.ArrayList<>(List.of(sched));
        argv.add(programs.compile("threads").toString());
        argv.add(out.toString());
        int pid = programs.startCommand(argv);
        TestPrograms.awaitLine(out, l -> l.startsWith("slots="), Duration.ofSeconds(10));
        return pid;
    }

    @Test
    void raisesFrozenThreadsAndPutsBackEachOnesPolicy() throws Exception {
        try (TestPrograms programs = new TestPrograms(tmp)) {
            // the main thread SCHED_BATCH|SCHED_RESET_ON_FORK at nice 5; its threads BATCH at nice 5, without the flag
            int pid = start(programs, "nice", "-n", "5", "chrt", "--batch", "--reset-on-fork", "0");
            Map<Integer, Policy> before = policies(pid);
            assertEquals(17, before.size());
            assertEquals(Sched.SCHED_BATCH | Sched.SCHED_RESET_ON_FORK, before.get(pid).policy());
            assertTrue(before.values().stream().allMatch(p -> p.nice() == 5), before.toString());
            try (FrozenTree t = Freezer.freeze(List.of(pid), false, new HashSet<>())) {
                for (int tid : t.threads(pid)) {
                    Policy p = Policy.of(pid, tid);
                    assertEquals(Sched.SCHED_FIFO | (before.get(tid).policy() & Sched.SCHED_RESET_ON_FORK), p.policy(),
                            "tid " + tid + " while frozen");
                    assertEquals(FreezePriority.PRIORITY, p.rtPriority(), "tid " + tid + " while frozen");
                }
            }
            assertEquals(before, policies(pid), "after the thaw");
        }
    }

    @Test
    void leavesRealtimeThreadsAsTheyAre() throws Exception {
        try (TestPrograms programs = new TestPrograms(tmp)) {
            int pid = start(programs, "chrt", "--fifo", "10");
            Map<Integer, Policy> before = policies(pid);
            assertTrue(before.values().stream().allMatch(p -> p.policy() == Sched.SCHED_FIFO && p.rtPriority() == 10),
                    before.toString());
            assertUntouchedByAFreeze(pid, before);
        }
    }

    @Test
    void switchedOffLeavesThePolicyAlone() throws Exception {
        try (TestPrograms programs = new TestPrograms(tmp)) {
            int pid = start(programs, "nice", "-n", "3");
            Map<Integer, Policy> before = policies(pid);
            FreezePriority.enabled(false);
            try {
                assertUntouchedByAFreeze(pid, before);
            } finally {
                FreezePriority.enabled(true);
            }
        }
    }

    @Test
    void raisedTasksRunRealtimeAndGiveItBack() throws Exception {
        int mine = Sched.policy(0);
        int during = FreezePriority.raised(() -> Sched.policy(0)).call();
        assertEquals(Sched.SCHED_FIFO | (mine & Sched.SCHED_RESET_ON_FORK), during);
        assertEquals(mine, Sched.policy(0));
        assertThrows(IllegalStateException.class, () -> FreezePriority.raised(() -> {
            throw new IllegalStateException("failed task");
        }).call());
        assertEquals(mine, Sched.policy(0), "given back after a failure too");
        FreezePriority.raiseSelf();
        FreezePriority.raiseSelf();
        assertEquals(Sched.SCHED_FIFO | (mine & Sched.SCHED_RESET_ON_FORK), Sched.policy(0));
        FreezePriority.lowerSelf();
        assertEquals(mine, Sched.policy(0), "raised twice, lowered once: as before");
        FreezePriority.lowerSelf();
        assertEquals(mine, Sched.policy(0));
    }
}
