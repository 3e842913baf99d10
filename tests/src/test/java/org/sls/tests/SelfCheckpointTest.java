package org.sls.tests;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.libsls.SlsClient;
import org.sls.libsls.protocol.Codec;
import org.sls.libsls.protocol.ErrorCode;
import org.sls.libsls.protocol.SlsException;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * libsls's {@code checkpointSelf()} end to end: a real JVM ({@link SelfCheckpointProgram}) attaches
 * itself, checkpoints itself, is SIGKILLed and restored with {@code slsctl restore}; the restored JVM
 * reads {@code restored: true} with the epoch, finds its heap intact, and talks to slsd again on a
 * new connection.
 */
class SelfCheckpointTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String JAVA = ProcessHandle.current().info().command().orElse("java");
    private final List<Long> started = new ArrayList<>();

    @AfterEach
    void endPrograms() {
        started.forEach(Workloads::kill);
    }

    /** Starts the program as a separate, small JVM; stdout appends to {@code out} (a restored one appends too). */
    private Process startProgram(Sls sls, String partition, Path out, Path err) throws IOException {
        List<String> cmd = List.of(JAVA, "-XX:-UsePerfData", "-XX:+UseSerialGC", "-Xmx64m", "-XX:+DisableAttachMechanism",
                "-Xshare:auto", "-cp", System.getProperty("java.class.path"), SelfCheckpointProgram.class.getName(),
                sls.socket().toString(), partition);
        Process p = new ProcessBuilder(cmd)
                .redirectInput(new File("/dev/null"))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile()))
                .redirectError(ProcessBuilder.Redirect.appendTo(err.toFile()))
                .start();
        started.add(p.pid());
        return p;
    }

    private static String line(Path out, String prefix, String pidAndMore, Path err) {
        try {
            return Workloads.awaitLine(out, l -> l.startsWith(prefix + " ") && l.contains(pidAndMore), WAIT);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\nstderr:\n" + String.join("\n", Workloads.lines(err)), e);
        }
    }

    /** The first line starting with {@code prefix} written after the line {@code after}. */
    private static String lineAfter(Path out, String after, String prefix) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            List<String> l = Workloads.lines(out);
            for (int i = l.lastIndexOf(after) + 1; i > 0 && i < l.size(); i++) {
                if (l.get(i).startsWith(prefix)) {
                    return l.get(i);
                }
            }
            Sls.sleep(50);
        }
        throw new AssertionError("no line " + prefix + "... after \"" + after + "\" in " + out + ":\n"
                + String.join("\n", Workloads.lines(out)));
    }

    /** The first line from line index {@code from} on that satisfies {@code p}. */
    private static String awaitLineFrom(Path out, int from, java.util.function.Predicate<String> p) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            List<String> l = Workloads.lines(out);
            for (int i = from; i < l.size(); i++) {
                if (p.test(l.get(i))) {
                    return l.get(i);
                }
            }
            Sls.sleep(50);
        }
        throw new AssertionError("no matching line after line " + from + " of " + out + ":\n" + String.join("\n", Workloads.lines(out)));
    }

    @Test
    void aJvmCheckpointsItselfAndItsRestoredSelfKnowsItWasRestored(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("program.out");
        Path err = tmp.resolve("program.err");
        try (Sls sls = Sls.start(tmp)) {
            assertEquals(0, sls.ctl("partadd", "-o", "jvm").exit());
            Process program = startProgram(sls, "jvm", out, err);
            long pid = program.pid();
            String before = line(out, "before", "pid=" + pid + " ", err);
            String live = line(out, "answer", "pid=" + pid + " ", err);
            assertEquals(0, Workloads.field(live, "restored"), "the caller itself is not restored: " + live);
            assertEquals(1, Workloads.field(live, "ok"), live);
            long epoch = Workloads.field(live, "epoch");
            assertTrue(live.contains(" partition=jvm "), live);
            CliResult snaps = sls.ctl("listsnaps", "-o", "jvm", "-H");
            assertTrue(snaps.out().lines().anyMatch(l -> l.startsWith("jvm\t" + epoch + "\t")),
                    "the epoch answered is committed: " + snaps.all());
            line(out, "gc", "pid=" + pid + " ", err); // it runs on after the checkpoint

            program.destroyForcibly();
            program.waitFor();
            Workloads.awaitGone(pid, WAIT);
            CliResult r = sls.ctl("restore", "-o", "jvm", "--json");
            assertEquals(0, r.exit(), r.all() + sls.daemonLog());
            JsonNode j = Codec.MAPPER.readTree(r.out());
            assertEquals(epoch, j.get("epoch").longValue());
            assertEquals(pid, j.get("pids").get(0).longValue());

            String restored = Workloads.awaitLine(out, l -> l.startsWith("answer ") && l.contains(" restored=1 "), WAIT);
            assertEquals(pid, Workloads.field(restored, "pid"));
            assertEquals(epoch, Workloads.field(restored, "epoch"), "the restored JVM is told the epoch it came from");
            assertEquals(1, Workloads.field(restored, "ok"), "counter and data checksum intact: " + restored);
            assertEquals(Workloads.field(before, "sum"), Workloads.field(restored, "sum"), before + " / " + restored);
            assertEquals(Workloads.field(before, "counter"), Workloads.field(restored, "counter"));

            // the restored connection has ended: the next call goes over a new one
            String again = Workloads.awaitLine(out, l -> l.startsWith("again "), WAIT);
            assertEquals(0, Workloads.field(again, "restored"), again);
            long epoch2 = Workloads.field(again, "epoch");
            assertTrue(epoch2 > epoch, "a new epoch: " + again);
            assertEquals(1, Workloads.field(again, "ok"), again);
            String gc = lineAfter(out, again, "gc ");
            assertEquals(1, Workloads.field(gc, "ok"), "the restored JVM collects garbage with its data intact: " + gc);

            String hello = lineAfter(out, gc, "hello ");
            assertTrue(hello.endsWith(" ok=1"), hello);

            // an ordinary checkpoint of a JVM holding a connection to slsd works, and so does its restore:
            // the connection comes back closed and the client connects again
            CliResult ck = sls.ctl("checkpoint", "-o", "jvm");
            assertEquals(0, ck.exit(), ck.all() + sls.daemonLog());
            Workloads.kill(pid);
            Workloads.awaitGone(pid, WAIT);
            int linesAtKill = Workloads.count(out);
            CliResult r3 = sls.ctl("restore", "-o", "jvm");
            assertEquals(0, r3.exit(), r3.all() + sls.daemonLog());
            String helloAfter = awaitLineFrom(out, linesAtKill, l -> l.startsWith("hello ") && l.endsWith(" ok=1"));
            assertEquals(pid, Workloads.field(helloAfter, "pid"), helloAfter);
            Workloads.kill(pid);
            Workloads.awaitGone(pid, WAIT);

            // and the second self-checkpoint restores as the first did
            CliResult r2 = sls.ctl("restore", "-o", "jvm", "--epoch", Long.toString(epoch2));
            assertEquals(0, r2.exit(), r2.all() + sls.daemonLog());
            String again2 = Workloads.awaitLine(out, l -> l.startsWith("again ") && l.contains(" restored=1 "), WAIT);
            assertEquals(epoch2, Workloads.field(again2, "epoch"), "restored from the second self-checkpoint: " + again2);
            assertEquals(1, Workloads.field(again2, "ok"), again2);
            assertEquals(1, Workloads.field(lineAfter(out, again2, "gc "), "ok"));
            Workloads.kill(pid);
            Workloads.awaitGone(pid, WAIT);
        }
    }

    @Test
    void aCallerOutsideEveryPartitionIsRefusedClearly(@TempDir Path tmp) {
        try (Sls sls = Sls.start(tmp); SlsClient client = SlsClient.connect(sls.socket())) {
            SlsException e = assertThrows(SlsException.class, client::checkpointSelf);
            assertEquals(ErrorCode.NOT_FOUND, e.code(), e.getMessage());
            long me = ProcessHandle.current().pid();
            assertTrue(e.getMessage().contains("pid " + me) && e.getMessage().contains("not attached"), e.getMessage());
            assertTrue(client.listsnaps(java.util.Optional.empty()).isEmpty(), "nothing was checkpointed");
            assertTrue(client.hello().get("pid").longValue() > 0, "the connection still serves");
        }
    }
}
