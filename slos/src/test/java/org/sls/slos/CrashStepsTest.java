package org.sls.slos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.TreeMap;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Deterministic crash safety: stop the commit protocol and the cleaner before each numbered
 * step, drop every byte the device had not synced, reopen, and check that every committed epoch
 * reads back intact, that the interrupted one is wholly there or wholly absent, that fsck is
 * clean and that the store keeps working.
 */
class CrashStepsTest {
    @TempDir
    Path dir;

    static final OpenOptions NO_CLEANER = OpenOptions.defaults().withBackgroundCleaner(false);

    static final class SimulatedCrash extends RuntimeException {
        SimulatedCrash(String protocol, int step) {
            super("crash before " + protocol + " step " + step);
        }
    }

    private static StepHook crashAt(String protocol, int step) {
        return (p, s) -> {
            if (p.equals(protocol) && s == step) {
                throw new SimulatedCrash(p, s);
            }
        };
    }

    private static void assertClean(Slos s) {
        FsckReport r = s.fsck(false);
        assertTrue(r.clean(), "fsck: " + r.problems());
    }

    @ParameterizedTest(name = "crash before commit step {0}")
    @ValueSource(ints = {1, 2, 3, 4, 5})
    void commitStep(int step) {
        MemorySegmentIo io = new MemorySegmentIo("crash-commit-" + step, 16L << 20, true);
        Path meta = dir.resolve("meta");
        Slos.format(io, meta, FormatOptions.defaults().withSegmentSize(256 << 10));
        TreeMap<Long, Pages.Model> committed = new TreeMap<>();
        long obj;
        long interrupted;
        Pages.Model after = new Pages.Model();
        Slos s = Slos.open(io, meta, NO_CLEANER);
        try {
            s.createPartition(new PartitionRecord("p", "slos", "delta", 0, 0, 0));
            obj = s.newObjectId();
            Pages.Model m = new Pages.Model();
            try (EpochWriter w = s.beginEpoch("p", 0)) {
                for (long p = 0; p < 100; p++) {
                    w.writePage(obj, p, Pages.page(p));
                    m.write(obj, p, p);
                }
                committed.put(w.commit().epoch(), m.copy());
            }
            s.engine().hook = crashAt(EpochCommit.PROTOCOL, step);
            EpochWriter w = s.beginEpoch("p", committed.lastKey());
            interrupted = w.epoch();
            after = m.copy();
            for (long p = 50; p < 250; p++) { // overwrites half, spills into new segments
                w.writePage(obj, p, Pages.page(1000 + p));
                after.write(obj, p, 1000 + p);
            }
            w.truncate(obj, 240);
            after.truncate(obj, 240);
            assertThrows(SimulatedCrash.class, w::commit);
        } finally {
            io.crash();
            s.close();
            io.crash();
        }
        try (Slos r = Slos.open(io, meta, NO_CLEANER)) {
            boolean present = r.epochs("p").stream().anyMatch(e -> e.epoch() == interrupted);
            assertEquals(step >= 4, present, "epoch " + interrupted + " visible after a crash before step " + step);
            if (present) {
                committed.put(interrupted, after);
            }
            for (var e : committed.entrySet()) {
                Pages.verify(r.reader("p", e.getKey()), e.getValue());
            }
            assertEquals(r.epochs("p").get(r.epochs("p").size() - 1).epoch(), r.engine().superblock().lastEpoch());
            assertClean(r);
            // The store goes on: a new epoch on top of the last one writes over no live page.
            Pages.Model next = committed.lastEntry().getValue().copy();
            try (EpochWriter w = r.beginEpoch("p", committed.lastKey())) {
                for (long p = 0; p < 300; p += 3) {
                    w.writePage(obj, p, Pages.page(7000 + p));
                    next.write(obj, p, 7000 + p);
                }
                committed.put(w.commit().epoch(), next);
            }
            for (var e : committed.entrySet()) {
                Pages.verify(r.reader("p", e.getKey()), e.getValue());
            }
            assertClean(r);
        }
    }

    @ParameterizedTest(name = "crash before cleaner step {0}")
    @ValueSource(ints = {1, 2, 3, 4, 5})
    void cleanerStep(int step) {
        MemorySegmentIo io = new MemorySegmentIo("crash-cleaner-" + step, 16L << 20, true);
        Path meta = dir.resolve("meta");
        Slos.format(io, meta, FormatOptions.defaults().withSegmentSize(256 << 10));
        TreeMap<Long, Pages.Model> kept = new TreeMap<>();
        long usedBefore;
        Slos s = Slos.open(io, meta, NO_CLEANER);
        try {
            s.createPartition(new PartitionRecord("p", "slos", "delta", 0, 0, 0));
            long a = s.newObjectId();
            long b = s.newObjectId();
            Pages.Model m = new Pages.Model();
            long first;
            // Interleave a (rewritten later) and b (kept) in the same segments.
            try (EpochWriter w = s.beginEpoch("p", 0)) {
                for (long p = 0; p < 300; p++) {
                    w.writePage(a, p, Pages.page(p));
                    m.write(a, p, p);
                    if (p % 10 == 0) {
                        w.writePage(b, p, Pages.page(-p - 1));
                        m.write(b, p, -p - 1);
                    }
                }
                first = w.commit().epoch();
            }
            try (EpochWriter w = s.beginEpoch("p", first)) {
                for (long p = 0; p < 300; p++) {
                    w.writePage(a, p, Pages.page(5000 + p));
                    m.write(a, p, 5000 + p);
                }
                kept.put(w.commit().epoch(), m.copy());
            }
            s.deleteEpoch("p", first); // a's first versions are dead: segments 0-1 are sparse
            usedBefore = s.usage().usedBytes();
            s.engine().hook = crashAt(Cleaner.PROTOCOL, step);
            assertThrows(SimulatedCrash.class, s::clean);
        } finally {
            io.crash();
            s.close();
            io.crash();
        }
        try (Slos r = Slos.open(io, meta, NO_CLEANER)) {
            for (var e : kept.entrySet()) {
                Pages.verify(r.reader("p", e.getKey()), e.getValue());
            }
            assertEquals(usedBefore, r.usage().usedBytes());
            assertClean(r);
            CleanerReport rep = r.clean();
            assertTrue(step >= 5 || rep.segmentsFreed() > 0, "a pass after recovery frees the sparse segments: " + rep);
            for (var e : kept.entrySet()) {
                Pages.verify(r.reader("p", e.getKey()), e.getValue());
            }
            assertClean(r);
        }
        try (Slos r = Slos.open(io, meta, NO_CLEANER)) {
            for (var e : kept.entrySet()) {
                Pages.verify(r.reader("p", e.getKey()), e.getValue());
            }
            assertClean(r);
        }
    }

    @ParameterizedTest(name = "crash before delete step {0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void deleteStep(int step) {
        MemorySegmentIo io = new MemorySegmentIo("crash-delete-" + step, 16L << 20, true);
        Path meta = dir.resolve("meta");
        Slos.format(io, meta, FormatOptions.defaults().withSegmentSize(256 << 10));
        TreeMap<Long, Pages.Model> committed = new TreeMap<>();
        long obj;
        long base;
        long child;
        Slos s = Slos.open(io, meta, NO_CLEANER);
        try {
            s.createPartition(new PartitionRecord("p", "slos", "delta", 0, 0, 0));
            obj = s.newObjectId();
            Pages.Model m = new Pages.Model();
            try (EpochWriter w = s.beginEpoch("p", 0)) {
                for (long p = 0; p < 300; p++) {
                    if (p % 9 != 8) {
                        w.writePage(obj, p, Pages.page(p));
                        m.write(obj, p, p);
                    }
                }
                base = w.commit().epoch();
            }
            committed.put(base, m.copy());
            try (EpochWriter w = s.beginEpoch("p", base)) {
                for (long p = 3; p < 300; p += 40) {
                    w.writePage(obj, p, Pages.page(1000 + p));
                    m.write(obj, p, 1000 + p);
                }
                w.writeHole(obj, 100);
                m.hole(obj, 100);
                w.truncate(obj, 280);
                m.truncate(obj, 280);
                child = w.commit().epoch();
            }
            committed.put(child, m.copy());
            try (EpochWriter w = s.beginEpoch("p", child)) {
                w.writePage(obj, 5, Pages.page(2005));
                m.write(obj, 5, 2005);
                committed.put(w.commit().epoch(), m.copy());
            }
            s.engine().hook = crashAt(EpochDeletion.PROTOCOL, step);
            assertThrows(SimulatedCrash.class, () -> s.deleteEpoch("p", base));
        } finally {
            io.crash();
            s.close();
            io.crash();
        }
        try (Slos r = Slos.open(io, meta, NO_CLEANER)) {
            boolean gone = r.epochs("p").stream().noneMatch(e -> e.epoch() == base);
            assertEquals(step >= 4, gone, "epoch " + base + " deleted after a crash before delete step " + step);
            assertEquals(gone ? base : child, r.engine().epochs.get(child).layer(), "layer of epoch " + child);
            if (gone) {
                committed.remove(base);
            }
            for (var e : committed.entrySet()) {
                Pages.verify(r.reader("p", e.getKey()), e.getValue());
            }
            assertClean(r);
            // The store goes on: the deletion (again, or of the next oldest) completes.
            r.deleteEpoch("p", committed.firstKey());
            committed.remove(committed.firstKey());
            for (var e : committed.entrySet()) {
                Pages.verify(r.reader("p", e.getKey()), e.getValue());
            }
            assertClean(r);
        }
    }
}
