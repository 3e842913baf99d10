package org.sls.slsd;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The clock of the CPU budget counts the CPU of threads that come and go, and nothing twice. */
class ThreadCpuClockTest {

    @Test
    void countsWhatAThreadRanAndTheShareOfTheMachineItIs() throws Exception {
        ThreadCpuClock clock = new ThreadCpuClock(Runtime.getRuntime().availableProcessors());
        assertTrue(clock.supported(), "this JVM measures threads' CPU time");
        long before = clock.nanos();
        AtomicLong burned = new AtomicLong();
        AtomicLong sink = new AtomicLong();
        Thread busy = new Thread(() -> {
            var mx = ManagementFactory.getThreadMXBean();
            long start = mx.getCurrentThreadCpuTime();
            long x = 0;
            while (mx.getCurrentThreadCpuTime() - start < 200_000_000L) {
                for (int i = 0; i < 10_000; i++) {
                    x += i * 31L ^ x;
                }
            }
            sink.set(x);
            burned.set(mx.getCurrentThreadCpuTime() - start);
            synchronized (burned) {
                burned.notifyAll();
                try {
                    burned.wait(); // still alive, so that the next reading sees all it ran
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }, "busy");
        synchronized (burned) {
            busy.start();
            while (burned.get() == 0) {
                burned.wait();
            }
        }
        long during = clock.nanos();
        synchronized (burned) {
            burned.notifyAll();
        }
        busy.join();
        assertTrue(during - before >= burned.get(), "counted " + (during - before) + " ns, the thread ran " + burned.get());
        // the thread is gone: what it ran stays counted, and nothing comes back negative
        long after = clock.nanos();
        assertTrue(after >= during, after + " < " + during);
        double share = clock.share();
        assertTrue(share > 0 && share <= 1, "share " + share);
    }
}
