package org.sls.slsd.restore;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.slsd.checkpoint.CheckpointEngine;
import org.sls.slsd.checkpoint.CheckpointException;
import org.sls.slsd.checkpoint.CheckpointResult;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.checkpoint.manifest.PosixTimerImage;
import org.sls.slsd.checkpoint.manifest.PosixTimerImage.Notify;
import org.sls.slsd.checkpoint.manifest.ProcessImage;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.TestPrograms;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Interval timers, POSIX timers and CLOCK_MONOTONIC through checkpoint, SIGKILL and restore: the
 * workload (workloads/restore/timers.c) arms alarm(), ITIMER_VIRTUAL, ITIMER_PROF and five POSIX
 * timers (signal, SIGEV_THREAD_ID, SIGEV_NONE, its own CPU-time clock, one disarmed), and after the
 * restore checks each of them itself. A reboot is simulated honestly by running the workload in a
 * time namespace whose CLOCK_MONOTONIC is 1 000 000 s ahead of the host's, so that at restore the
 * host's clock is far behind the checkpoint's. Every process is killed by pid at the end.
 */
class TimersRestoreTest {
    private static final long AHEAD_S = 1_000_000;
    private static final Duration SLOW = Duration.ofSeconds(120);
    @TempDir
    Path tmp;
    RestoreFixture fx;

    @BeforeEach
    void setUp() throws Exception {
        fx = new RestoreFixture(tmp);
    }

    @AfterEach
    void tearDown() {
        fx.close();
    }

    private static String await(Path out, String prefix) throws Exception {
        return TestPrograms.awaitLine(out, l -> l.startsWith(prefix), SLOW);
    }

    /** What the workload reports after the restore, every check passed. */
    private static void assertAllTimersWork(Map<String, String> f, String line) {
        assertEquals("ok", f.get("sig"), "SIGEV_SIGNAL timer keeps firing every 20 ms: " + line);
        assertEquals("ok", f.get("thr"), "SIGEV_THREAD_ID timer keeps firing every 20 ms: " + line);
        assertEquals("0", f.get("thr_bad"), "its signals reach the worker thread with sigev_value 77: " + line);
        assertEquals("0", f.get("sig_bad"), "SI_TIMER, the timer id and sigev_value in each siginfo: " + line);
        assertEquals("1", f.get("none"), "SIGEV_NONE timer polled with timer_gettime still counts down: " + line);
        assertEquals("1", f.get("cpu"), "the timer on its own CPU-time clock is armed: " + line);
        assertEquals("1", f.get("off"), "the disarmed timer exists, disarmed: " + line);
        assertEquals("20", f.get("interval_ms"), line);
        assertEquals("1", f.get("alarm"), "alarm() fired once, after the restore: " + line);
        assertEquals("1", f.get("tfd"), "the timerfd armed at an absolute time fired: " + line);
        assertEquals("1", f.get("virtual"), "ITIMER_VIRTUAL ticks: " + line);
        assertEquals("1", f.get("prof"), "ITIMER_PROF ticks: " + line);
        assertEquals("0", f.get("backwards"), "CLOCK_MONOTONIC never went backwards: " + line);
    }

    private static void assertTimersInManifest(ProcessImage p, String ready) {
        Map<String, String> r = RestoreFixture.fields(ready);
        List<Integer> ids = p.posixTimers().stream().map(PosixTimerImage::id).toList();
        assertEquals(r.get("ids"), String.join(",", ids.stream().map(String::valueOf).toList()), "ids, not renumbered");
        PosixTimerImage sig = p.posixTimers().get(0);
        PosixTimerImage thr = p.posixTimers().get(1);
        assertEquals(Notify.SIGNAL, sig.notification());
        assertEquals(0x1234abcd5678L, sig.value());
        assertEquals(10, sig.signal());
        assertEquals(20_000_000L, sig.intervalNs());
        assertEquals(Notify.THREAD_ID, thr.notification());
        assertEquals(Integer.parseInt(r.get("worker")), thr.targetTid());
        assertEquals(Notify.NONE, p.posixTimers().get(2).notification());
        assertTrue(p.posixTimers().get(2).valueNs() > 900_000_000_000L, p.posixTimers().get(2).toString());
        assertFalse(p.posixTimers().get(4).armed());
        ProcessImage.ItimerImage real = p.itimers().get(0);
        assertTrue(real.valueSec() > 0 || real.valueUsec() > 0, "alarm(8) had not fired at the checkpoint: " + real);
        assertNotNull(p.clocks());
        FdImage tfd = p.fds().stream().filter(fd -> fd.kind() == FdImage.Kind.TIMERFD).findFirst().orElseThrow();
        assertTrue(Long.parseLong(tfd.detail("valueNs", "0")) > 0, "the timerfd had not fired at the checkpoint: " + tfd);
    }

    @Test
    void timersComeBackWithTheirIdsAndKeepFiring() throws Exception {
        Path out = fx.out("timers");
        int pid = fx.start("timers", out.toString());
        String ready = await(out, "ready");
        assertEquals(List.of(), CheckpointEngine.check(pid, false), "slsctl check --pid finds nothing to refuse");
        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        CheckpointResult cp = fx.checkpoints.checkpoint(RestoreFixture.PART, false, "full", 0);
        ProcessImage p = fx.manifest(cp.epoch()).process(pid);
        assertTimersInManifest(p, ready);
        List<ProcFs.PosixTimerEntry> before = ProcFs.posixTimers(pid);

        fx.killAndWaitGone(List.of(pid));
        RestoreResult r = fx.restore(cp.epoch(), false, false);
        assertEquals(List.of(pid), r.pids());
        assertEquals(before, ProcFs.posixTimers(pid), "same ids, clocks, signals, values and targets in /proc/PID/timers");
        Files.createFile(Path.of(out + ".go"));
        String line = await(out, "timers");
        assertAllTimersWork(RestoreFixture.fields(line), line);
    }

    @Test
    void afterARebootTheClocksCarryOnFromTheCheckpoint() throws Exception {
        Path out = fx.out("timers");
        Path bin = fx.programs.compile("restore/timers");
        int unshare = fx.programs.startCommand(List.of("unshare", "--time", "--monotonic=" + AHEAD_S,
                "--boottime=" + AHEAD_S, "--fork", bin.toString(), out.toString()));
        String ready = await(out, "ready");
        List<Integer> children = ProcFs.children(unshare);
        assertEquals(1, children.size(), "the workload under unshare: " + children);
        int pid = children.get(0);
        fx.programs.track(pid);
        assertEquals(AHEAD_S * 1_000_000_000L, ProcFs.timensOffsets(pid)[0]);

        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        CheckpointResult cp = fx.checkpoints.checkpoint(RestoreFixture.PART, false, "full", 0);
        ProcessImage p = fx.manifest(cp.epoch()).process(pid);
        assertTimersInManifest(p, ready);
        long hostNow = Linux.clockNanos(Linux.CLOCK_MONOTONIC);
        assertTrue(p.clocks().monotonicNs() > hostNow + (AHEAD_S - 1000) * 1_000_000_000L,
                "the checkpoint's CLOCK_MONOTONIC is far ahead of the host's, as after a reboot: " + p.clocks());

        fx.killAndWaitGone(List.of(pid));
        RestoreResult r = fx.restore(cp.epoch(), false, false);
        assertEquals(List.of(pid), r.pids());
        assertNotEquals(ProcFs.link(Linux.getpid(), "ns/time"), ProcFs.link(pid, "ns/time"), "in a time namespace of its own");
        long offset = ProcFs.timensOffsets(pid)[0];
        assertTrue(offset > (AHEAD_S - 1000) * 1_000_000_000L && offset <= AHEAD_S * 1_000_000_000L,
                "offset " + offset);

        // a process in a time namespace slsd made can be checkpointed again; its clock went on
        CheckpointResult again = fx.checkpoints.checkpoint(RestoreFixture.PART, false, "full", 0);
        ProcessImage p2 = fx.manifest(again.epoch()).process(pid);
        assertTrue(p2.clocks().monotonicNs() >= p.clocks().monotonicNs(), p.clocks() + " then " + p2.clocks());
        assertEquals(p.posixTimers().stream().map(PosixTimerImage::id).toList(),
                p2.posixTimers().stream().map(PosixTimerImage::id).toList());

        Files.createFile(Path.of(out + ".go"));
        String line = await(out, "timers");
        Map<String, String> f = RestoreFixture.fields(line);
        assertAllTimersWork(f, line);
        assertTrue(Long.parseLong(f.get("mono_ns")) >= p.clocks().monotonicNs(),
                "CLOCK_MONOTONIC carried on from the checkpoint's " + p.clocks() + ": " + line);
    }

    @Test
    void aTimerOnAnotherProcesssCpuClockIsRefusedByName() throws Exception {
        Path out = fx.out("timers");
        int me = Linux.getpid();
        int pid = fx.start("timers", out.toString(), Integer.toString(me));
        Map<String, String> r = RestoreFixture.fields(await(out, "ready"));
        String expected = "pid " + pid + " POSIX timer " + r.get("id") + " (clock " + r.get("clock")
                + ") runs on the CPU-time clock of pid " + me + ", another process";
        List<String> problems = CheckpointEngine.check(pid, false);
        assertEquals(1, problems.size(), problems.toString());
        assertTrue(problems.get(0).startsWith(expected), problems.get(0));

        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        List<ProcFs.PosixTimerEntry> before = ProcFs.posixTimers(pid);
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> fx.checkpoints.checkpoint(RestoreFixture.PART, false, "full", 0));
        assertEquals(CheckpointException.Kind.UNSUPPORTED_RESOURCE, e.kind());
        assertTrue(e.getMessage().startsWith(expected), e.getMessage());
        assertEquals(0, ProcFs.tracerPid(pid), "no ptrace left behind");
        assertEquals(before, ProcFs.posixTimers(pid), "its timer untouched");
        assertTrue(ProcFs.exists(pid) && ProcFs.stat(pid).state() != 'Z', "still running");
    }

    @Test
    void aPeriodicAlarmWhoseSignalIsPendingKeepsItsPeriod() throws Exception {
        Path out = fx.out("timers");
        int pid = fx.start("timers", out.toString(), "pending");
        await(out, "ready");
        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        CheckpointResult cp = fx.checkpoints.checkpoint(RestoreFixture.PART, false, "full", 0);
        ProcessImage p = fx.manifest(cp.epoch()).process(pid);
        ProcessImage.ItimerImage real = p.itimers().get(0);
        assertEquals(List.of(0L, 10_000L, 0L, 0L), List.of(real.intervalSec(), real.intervalUsec(), real.valueSec(),
                real.valueUsec()), "0 left while its SIGALRM is pending: " + real);
        assertTrue(p.sharedPending().stream().anyMatch(si -> si.signal() == 14), "SIGALRM pending: " + p.sharedPending());

        fx.killAndWaitGone(List.of(pid));
        fx.restore(cp.epoch(), false, false);
        Files.createFile(Path.of(out + ".go"));
        assertEquals("pending alarms=5", await(out, "pending"), "it fires again and again, not just the pending one");
    }

    @Test
    void underNewPidsThreadTargetsAndCpuClocksFollowTheClone() throws Exception {
        Path out = fx.out("timers");
        int pid = fx.start("timers", out.toString());
        await(out, "ready");
        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        CheckpointResult cp = fx.checkpoints.checkpoint(RestoreFixture.PART, false, "full", 0);
        List<ProcFs.PosixTimerEntry> original = ProcFs.posixTimers(pid);

        RestoreResult r = fx.restore(cp.epoch(), false, true);
        int clone = r.pids().get(0);
        assertNotEquals(pid, clone);
        int worker = ProcFs.tasks(clone).stream().filter(t -> t != clone).findFirst().orElseThrow();
        List<ProcFs.PosixTimerEntry> cloned = ProcFs.posixTimers(clone);
        assertEquals(original.size(), cloned.size(), cloned.toString());
        for (int i = 0; i < original.size(); i++) {
            ProcFs.PosixTimerEntry o = original.get(i);
            ProcFs.PosixTimerEntry c = cloned.get(i);
            assertEquals(List.of(o.id(), o.signal(), o.value(), o.notification(), o.threadId()),
                    List.of(c.id(), c.signal(), c.value(), c.notification(), c.threadId()), c.toString());
            assertEquals(o.threadId() ? worker : clone, c.target(), "signals the clone's own thread or itself: " + c);
            // the timer on the process's own CPU-time clock names the clone, not the original
            int expectedClock = o.clock() < 0 && ~(o.clock() >> 3) == pid ? (~clone << 3) | (o.clock() & 7) : o.clock();
            assertEquals(expectedClock, c.clock(), c.toString());
        }
        assertTrue(original.stream().anyMatch(o -> o.clock() < 0 && ~(o.clock() >> 3) == pid), "a CPU-clock timer: " + original);
        assertTrue(original.stream().anyMatch(ProcFs.PosixTimerEntry::threadId), "a SIGEV_THREAD_ID timer: " + original);
    }

    @Test
    void glibcSigevThreadCallbacksRunOn() throws Exception {
        Path out = fx.out("timers");
        int pid = fx.start("timers", out.toString(), "thread");
        await(out, "ready");
        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        CheckpointResult cp = fx.checkpoints.checkpoint(RestoreFixture.PART, false, "full", 0);
        ProcessImage p = fx.manifest(cp.epoch()).process(pid);
        // glibc turns SIGEV_THREAD into SIGEV_THREAD_ID towards its helper thread
        assertEquals(1, p.posixTimers().size(), p.posixTimers().toString());
        assertEquals(Notify.THREAD_ID, p.posixTimers().get(0).notification());
        assertTrue(p.threads().size() >= 2, "the helper thread: " + p.threads());

        fx.killAndWaitGone(List.of(pid));
        fx.restore(cp.epoch(), false, false);
        Files.createFile(Path.of(out + ".go"));
        assertEquals("thread callbacks=ok bad=0", await(out, "thread"));
    }
}
