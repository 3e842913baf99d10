package org.sls.slsd.restore;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Where one restore spent its time: reading slos, writing memory, injected syscalls. Counters are
 * atomic because the page reader runs on its own thread. Thread-safe.
 */
final class Timings {
    final AtomicLong readNanos = new AtomicLong();
    final AtomicLong writeNanos = new AtomicLong();
    final AtomicLong injectNanos = new AtomicLong();
    final AtomicLong injectedCalls = new AtomicLong();
    final AtomicLong pagesWritten = new AtomicLong();

    static long micros(AtomicLong nanos) {
        return nanos.get() / 1000;
    }
}
