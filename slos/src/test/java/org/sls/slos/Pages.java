package org.sls.slos;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.TreeMap;

/** Test helpers: deterministic page contents and a model of what each epoch must read back. */
final class Pages {
    private Pages() {}

    /** A page whose content is a function of {@code seed} (never all zeros). */
    static ByteBuffer page(long seed) {
        ByteBuffer b = ByteBuffer.allocateDirect(Layout.PAGE_SIZE);
        long x = seed * 0x9E3779B97F4A7C15L + 1;
        for (int i = 0; i < Layout.PAGE_SIZE; i += 8) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            b.putLong(i, x);
        }
        return b;
    }

    /** Model of one epoch: object to (page to seed); objects absent from the map do not exist. */
    static final class Model {
        final Map<Long, TreeMap<Long, Long>> objects = new TreeMap<>();

        Model copy() {
            Model m = new Model();
            objects.forEach((k, v) -> m.objects.put(k, new TreeMap<>(v)));
            return m;
        }

        void write(long obj, long page, long seed) {
            objects.computeIfAbsent(obj, k -> new TreeMap<>()).put(page, seed);
        }

        void hole(long obj, long page) {
            objects.computeIfAbsent(obj, k -> new TreeMap<>()).remove(page);
        }

        void truncate(long obj, long pages) {
            objects.computeIfAbsent(obj, k -> new TreeMap<>()).tailMap(pages, true).clear();
        }

        void delete(long obj) {
            objects.remove(obj);
        }
    }

    /** Checks that {@code r} reads exactly the model, page by page and in bulk. */
    static void verify(ObjectReader r, Model m, long... absentObjects) {
        for (Map.Entry<Long, TreeMap<Long, Long>> e : m.objects.entrySet()) {
            long obj = e.getKey();
            assertTrue(r.exists(obj), "object " + obj + " should exist at epoch " + r.epoch());
            long[] want = e.getValue().keySet().stream().mapToLong(Long::longValue).toArray();
            assertArrayEquals(want, r.pages(obj), "pages of object " + obj + " at epoch " + r.epoch());
            ByteBuffer dst = ByteBuffer.allocate(Layout.PAGE_SIZE);
            for (Map.Entry<Long, Long> p : e.getValue().entrySet()) {
                dst.clear();
                assertTrue(r.readPage(obj, p.getKey(), dst), "object " + obj + " page " + p.getKey() + " epoch " + r.epoch());
                assertEquals(page(p.getValue()).rewind(), dst.flip(), "content of object " + obj + " page " + p.getKey() + " at epoch " + r.epoch());
            }
            long end = want.length == 0 ? 4 : want[want.length - 1] + 3;
            ByteBuffer bulk = ByteBuffer.allocate((int) end * Layout.PAGE_SIZE);
            assertEquals(want.length, r.readPages(obj, 0, (int) end, bulk));
            for (long p = 0; p < end; p++) {
                ByteBuffer got = bulk.duplicate().position((int) p * Layout.PAGE_SIZE).limit((int) (p + 1) * Layout.PAGE_SIZE);
                Long seed = e.getValue().get(p);
                ByteBuffer exp = seed == null ? ByteBuffer.allocate(Layout.PAGE_SIZE) : page(seed);
                assertEquals(exp.rewind(), got, "bulk content of object " + obj + " page " + p + " at epoch " + r.epoch());
            }
        }
        for (long obj : absentObjects) {
            if (!m.objects.containsKey(obj)) {
                assertFalse(r.exists(obj), "object " + obj + " should not exist at epoch " + r.epoch());
                assertEquals(0, r.pages(obj).length);
                assertFalse(r.readPage(obj, 0, ByteBuffer.allocate(Layout.PAGE_SIZE)));
            }
        }
    }
}
