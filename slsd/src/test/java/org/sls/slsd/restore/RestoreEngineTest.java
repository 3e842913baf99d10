package org.sls.slsd.restore;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.slsd.checkpoint.CheckpointResult;
import org.sls.slsd.checkpoint.MemoryView;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.TestPrograms;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class RestoreEngineTest {
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

    /** What a counter checkpoint holds: its counter and checksum, read back from the store. */
    record CounterAt(long epoch, long counter, long sum, long buf, int len) {}

    private CounterAt checkpointCounter(int pid, Path out, long parent) throws Exception {
        Map<String, String> hdr = RestoreFixture.fields(TestPrograms.awaitLine(out, l -> l.startsWith("state="), Duration.ofSeconds(10)));
        long state = RestoreFixture.hex(hdr.get("state"));
        long buf = RestoreFixture.hex(hdr.get("buf"));
        int len = Integer.parseInt(hdr.get("len"));
        TestPrograms.awaitLine(out, l -> l.startsWith("pid="), Duration.ofSeconds(10));
        for (int attempt = 0; attempt < 20; attempt++) {
            CheckpointResult r = fx.checkpoints.checkpoint(RestoreFixture.PART, false, "full", parent);
            MemoryView mem = fx.memory(r.epoch(), pid);
            byte[] st = mem.read(state, 32);
            if (RestoreFixture.u64(st, 0) % 2 == 0) {
                long sum = RestoreFixture.u64(st, 16);
                assertEquals(sum, RestoreFixture.fnv(mem.read(buf, len)), "stored buffer matches its checksum");
                return new CounterAt(r.epoch(), RestoreFixture.u64(st, 8), sum, buf, len);
            }
            parent = r.epoch();
        }
        throw new AssertionError("never caught the counter outside its update");
    }

    @Test
    void counterContinuesFromItsCheckpointedValue() throws Exception {
        Path out = fx.out("c");
        int pid = fx.start("counter", out.toString(), "2048", "50");
        fx.checkpoints.attach(RestoreFixture.PART, pid, 0);
        CounterAt at = checkpointCounter(pid, out, 0);
        fx.killAndWaitGone(List.of(pid));
        int skip = TestPrograms.lineCount(out);

        RestoreResult r = fx.restore(at.epoch(), false, false);
        assertEquals(List.of(pid), r.pids());
        List<String> after = RestoreFixture.awaitLines(out, skip, l -> l.startsWith("pid=" + pid + " "), 3, Duration.ofSeconds(10));
        long first = Long.parseLong(RestoreFixture.fields(after.get(0)).get("counter"));
        assertEquals(at.counter() + 1, first, "the first round after the restore follows the checkpointed one");
        for (int i = 1; i < after.size(); i++) {
            assertEquals(first + i, Long.parseLong(RestoreFixture.fields(after.get(i)).get("counter")));
        }
    }
}
