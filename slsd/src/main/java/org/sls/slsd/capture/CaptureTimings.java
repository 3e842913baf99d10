package org.sls.slsd.capture;

import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where the time of one checkpoint went, per {@link Phase}, so that the cost of a freeze can be
 * told apart (logged at debug level and returned by {@code slsctl checkpoint --json}). One
 * instance per checkpoint, filled on the freezing thread; not thread-safe.
 */
public final class CaptureTimings {
    /**
     * The steps of a checkpoint, in the order they happen. SMAPS, STAGING_WAIT, RESERVE and PRECOPY run
     * before the freeze, VERIFY and WRITE after the thaw (VERIFY within WRITE), the rest frozen.
     */
    public enum Phase {
        /** smaps read before the freeze (VmFlags, staging estimate): the process still runs. */
        SMAPS("smaps"),
        /** Waiting for staging memory, before the freeze, while earlier checkpoints are written (back-pressure). */
        STAGING_WAIT("stagingwait"),
        /** Mapping and pre-faulting staging memory for what the freeze will copy (before it). */
        RESERVE("reserve"),
        /**
         * Before the freeze: the written pages of tracked VMAs protected again and copied while the
         * process runs ({@link Precopy}).
         */
        PRECOPY("precopy"),
        /** Seize and interrupt every thread, wait for the stops. */
        FREEZE("freeze"),
        /** Refusal checks: namespaces, seccomp, /proc maps matched with smaps, mapping kinds, stat. */
        CHECKS("checks"),
        /**
         * The fd table: /proc fd links and fdinfo, the kinds' own reads (sock_diag, socket
         * options...). Read by another thread while the registers are read and syscalls injected,
         * except at a process's first delta checkpoint.
         */
        FDS("fds"),
        /** Waiting for the fds read by another thread, after {@link #REGS}, {@link #PROC} and {@link #INJECT}. */
        FDS_WAIT("fdwait"),
        /**
         * Waiting for the private memory scanned and copied by another thread ({@link #SCAN},
         * {@link #COPY}, {@link #TRACK}, counted whole), after the fds.
         */
        MEMORY_WAIT("memwait"),
        /** Registers, extended state, signal masks and queues, rseq, robust lists (ptrace). */
        REGS("regs"),
        /** /proc reads of the state (stat, status, limits, auxv, links, children). */
        PROC("proc"),
        /**
         * Waiting, before the injected calls, for the other thread's scan of the process's pages
         * to be done (see {@code FrozenReads#awaitScanned}).
         */
        SCAN_WAIT("scanwait"),
        /** Syscalls injected for what only the process can tell (sigactions, itimers, tid address). */
        INJECT("inject"),
        /** PAGEMAP_SCAN: which pages are present or written (and re-protecting the written ones). */
        SCAN("scan"),
        /** process_vm_readv into the staging memory. */
        COPY("copy"),
        /** Registering new VMAs with userfaultfd and write-protecting them. */
        TRACK("track"),
        /** Shared memory read through map_files, lineage bookkeeping, slfs pinned. */
        SHARED("shared"),
        /** Detaching every thread. */
        THAW("thaw"),
        /**
         * Before the commit, after the pages are written: waiting for the /proc scan, made after the
         * thaw by another thread, that confirms the pipes' outside holders an earlier scan gave.
         */
        VERIFY("verify"),
        /** After the thaw: staged pages, manifest and files written, epoch committed. */
        WRITE("write");

        private final String key;

        Phase(String key) {
            this.key = key;
        }

        public String key() { return key; }
    }

    /**
     * Phases that ran on another thread in parallel are counted whole, so the frozen phases may add
     * up to more than the frozen time.
     */
    private final EnumMap<Phase, Long> nanos = new EnumMap<>(Phase.class);
    private Phase current;
    private long since;

    /** Ends the running phase (if any) and starts {@code p}. */
    public void enter(Phase p) {
        long now = System.nanoTime();
        if (current != null) {
            nanos.merge(current, now - since, Long::sum);
        }
        current = p;
        since = now;
    }

    /** Ends the running phase. */
    public void stop() {
        if (current != null) {
            nanos.merge(current, System.nanoTime() - since, Long::sum);
            current = null;
        }
    }

    /** The phase running now, or null; to come back to it after a nested one. */
    public Phase current() { return current; }

    /** Adds time measured elsewhere (another thread) to a phase. */
    public void add(Phase p, long n) {
        nanos.merge(p, n, Long::sum);
    }

    public long micros(Phase p) {
        return nanos.getOrDefault(p, 0L) / 1000;
    }

    /** Microseconds per phase key, in phase order, phases that took no time left out. */
    public Map<String, Long> micros() {
        Map<String, Long> out = new LinkedHashMap<>();
        nanos.forEach((p, n) -> out.put(p.key(), n / 1000));
        return out;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        nanos.forEach((p, n) -> b.append(b.length() == 0 ? "" : ", ").append(p.key()).append(' ').append(n / 1000)
                .append(" us"));
        return b.toString();
    }
}
