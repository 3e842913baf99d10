package org.sls.slsd.restore;

import org.sls.slos.ObjectReader;
import org.sls.slsd.checkpoint.manifest.Manifest;
import org.sls.slsd.checkpoint.manifest.ProcessImage;
import org.sls.slsd.checkpoint.manifest.RegionImage;
import org.sls.slsd.linux.Errno;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.NativeException;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.Ptrace;
import org.sls.slsd.linux.Reaper;
import org.sls.slsd.linux.RestoreCalls;
import org.sls.slsd.linux.Spawner;
import org.sls.slsd.linux.SyscallInjector;
import org.sls.slsd.linux.Vma;
import org.sls.slsd.linux.WaitStatus;
import org.sls.slsd.resources.HuskCalls;
import org.sls.slsd.resources.RestoreContext;
import org.sls.slsd.resources.Terminal;
import org.sls.slsd.restore.RestoreException.Kind;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One restore of one epoch of a partition, run start to end on a single thread (the tracer of
 * every husk; ptrace binds a tracee to the thread that attached it). Walks the steps of DESIGN
 * section 4 for all processes together: the tree first, then memory of every process, then
 * process state, threads, and finally registers and detach, so that no restored process runs
 * before all are complete. A failure kills every process this run created, by pid, and reports
 * the step and the thing it was doing. Not thread-safe; one use.
 */
final class RestoreRun {
    private static final Logger log = LoggerFactory.getLogger(RestoreRun.class);
    /** The husk template: any executable works, it is stopped before its first instruction and emptied. */
    private static final String TEMPLATE_PROGRAM = "/bin/true";

    final String partition;
    final Manifest manifest;
    final ObjectReader reader;
    final boolean stopped;
    final boolean newPids;
    final Reaper reaper;
    /** The network lock of the epoch's checkpoint --kill stands: its outside connections are repaired. */
    boolean lockHeld;
    /** Reaps roots whose PID the daemon's reaper still remembers as finished (PID reuse). */
    final Timings timings = new Timings();
    /** Where the bytes written so far are told (the progress request). */
    volatile org.sls.slsd.checkpoint.LongOperations.Operation progress = org.sls.slsd.checkpoint.LongOperations.untracked();
    /** Checkpointed pid → husk, parents before children. */
    final Map<Integer, Husk> husks = new LinkedHashMap<>();
    /** Every process this run created (template included while it lives), for clean-up by pid. */
    final List<Integer> created = new ArrayList<>();
    /** Threads this run cloned: traced threads must be waited for before their leader can be. */
    final List<Integer> createdThreads = new ArrayList<>();
    /** The pseudo-terminals made for the restored processes, whose masters slsd keeps once the run succeeded. */
    final List<Terminal> terminals = new ArrayList<>();
    /** The fd kinds' objects for the whole run (terminals are made while the tree is built). */
    RestoreContext resources;
    Scratch scratch;
    /** The files whose content the checkpoint holds (shared memory, memfds, deleted files), made once. */
    org.sls.slsd.resources.SharedFiles files;
    private int template;

    // where the run is, for the error message
    private RestoreStep step = RestoreStep.CHECK;
    private int wherePid;
    private String what = "";

    RestoreRun(String partition, Manifest manifest, ObjectReader reader, boolean stopped, boolean newPids,
               Reaper reaper) {
        this.partition = partition;
        this.manifest = manifest;
        this.reader = reader;
        this.stopped = stopped;
        this.newPids = newPids;
        this.reaper = reaper;
    }

    /** The husk's main thread lent to the fd kinds of org.sls.slsd.resources. */
    HuskCalls huskCalls(Husk h) {
        HuskInjector inj = h.leader;
        return new HuskCalls() {
            @Override
            public int pid() { return h.pid; }

            @Override
            public int checkpointedPid() { return h.checkpointedPid(); }

            @Override
            public long call(String name, long nr, long... args) {
                at(step, h.checkpointedPid(), name);
                return inj.call(name, nr, args);
            }

            @Override
            public long data(byte[] bytes) { return inj.data(bytes); }

            @Override
            public int restoredPid(int checkpointedPid) {
                Husk other = husks.get(checkpointedPid);
                return other == null ? -1 : other.pid;
            }
        };
    }

    /** Records what is being done, so that a failure can say so. */
    void at(RestoreStep s, int checkpointedPid, String w) {
        step = s;
        wherePid = checkpointedPid;
        what = w;
    }

    void at(String w) {
        what = w;
    }

    RestoreResult run(int callerUid, long t0) {
        at(RestoreStep.CHECK, manifest.processes().get(0).pid(), "");
        Checks.all(manifest, newPids, callerUid);
        try {
            PhaseClock clock = new PhaseClock();
            HuskInjector tpl = startTemplate();
            TimerRestorer timers = new TimerRestorer(this);
            timers.timeNamespace(manifest, tpl);
            clock.lap("template");
            files = new org.sls.slsd.resources.SharedFiles(manifest.sharedMemory(), reader);
            resources = new RestoreContext(manifest.processes(), lockHeld, files, manifest.partition(), manifest.epoch());
            resources.restoredPids(this::restoredPid);
            new TreeBuilder(this, tpl).build();
            endTemplate();
            clock.lap("tree");
            MemoryRestorer memory = new MemoryRestorer(this);
            for (Husk h : husks.values()) {
                SpecialMappings.move(this, h);
            }
            for (Husk h : husks.values()) {
                memory.setMm(h);
                memory.mapAll(h);
            }
            clock.lap("map");
            memory.writePages();
            clock.lap("pages");
            for (Husk h : husks.values()) {
                memory.finish(h);
            }
            files.seal();
            memory.finishSysv();
            StateRestorer state = new StateRestorer(this);
            try {
                for (Husk h : husks.values()) {
                    state.foregroundGroup(h);
                }
                for (Husk h : husks.values()) {
                    state.restore(h);
                }
                terminals.addAll(state.takeTerminals());
            } finally {
                state.closeResources(); // every husk holds its fds now; slsd's copies would keep pipes open
                files.close();
            }
            clock.lap("state");
            ThreadRestorer threads = new ThreadRestorer(this);
            for (Husk h : husks.values()) {
                threads.createThreads(h);
                threads.perThreadState(h);
            }
            for (Husk h : husks.values()) {
                timers.restore(h); // after the threads: a timer may signal one of them
            }
            for (Husk h : husks.values()) {
                state.credentials(h);
            }
            clock.lap("threads");
            for (Husk h : husks.values()) {
                threads.setFinalState(h);
            }
            threads.detachAll();
            clock.lap("resume");
            log.debug("partition {} epoch {}: {} (us); {} injected calls, {} pages", partition, manifest.epoch(),
                    clock, timings.injectedCalls.get(), timings.pagesWritten.get());
        } catch (RuntimeException e) {
            RestoreException re = translate(e);
            log.warn("{}", re.getMessage(), e);
            if (files != null) {
                files.close();
            }
            terminals.forEach(Terminal::close);
            terminals.clear();
            if (resources != null) {
                resources.close(); // terminals made before the fds were restored, too
            }
            cleanUp();
            throw re;
        }
        List<Integer> pids = new ArrayList<>();
        Map<Integer, Integer> pidMap = new LinkedHashMap<>();
        for (Husk h : husks.values()) {
            pids.add(h.pid);
            pidMap.put(h.checkpointedPid(), h.pid);
            if (!husks.containsKey(h.image.ppid()) && reaper != null) {
                reaper.watch(h.pid); // a child of slsd (CLONE_PARENT): slsd reaps it, even under a pid reaped before
            }
        }
        long total = (System.nanoTime() - t0) / 1000;
        return new RestoreResult(manifest.epoch(), pids, pidMap, total, Timings.micros(timings.readNanos),
                Timings.micros(timings.writeNanos), Timings.micros(timings.injectNanos));
    }

    private RestoreException translate(RuntimeException e) {
        if (e instanceof RestoreException re) {
            return re;
        }
        String where = Checks.who(wherePid) + ": " + step.describe(what) + ": ";
        if (e instanceof NativeException ne && ne.call().equals("clone3") && ne.errno() == Errno.EEXIST) {
            return new RestoreException(Kind.PID_TAKEN, where + "the PID is in use (by a process, thread, process"
                    + " group or session)", e);
        }
        if (e instanceof NativeException ne) {
            return new RestoreException(ne.errno() == Errno.EPERM || ne.errno() == Errno.EACCES ? Kind.PERMISSION
                    : Kind.INTERNAL, where + ne.call() + ": " + NativeException.errnoName(ne.errno()) + " ("
                    + NativeException.errnoDescription(ne.errno()) + ")", e);
        }
        if (e instanceof ProcFs.NoSuchProcessException || e instanceof HuskInjector.HuskGoneException) {
            return new RestoreException(Kind.INTERNAL, where + "a husk died: " + e.getMessage(), e);
        }
        return new RestoreException(Kind.INTERNAL, where + e, e);
    }

    /** The checkpointed pid's restored pid (the same one unless new PIDs were asked for). */
    int restoredPid(int checkpointedPid) {
        Husk h = husks.get(checkpointedPid);
        return h == null ? -1 : h.pid;
    }

    /**
     * Step 0's start: a template husk spawned (posix_spawn, traced, stopped before its first
     * instruction), the scratch area mapped into it at an address free in every checkpointed
     * address space, everything but the special mappings and the scratch area unmapped, and all
     * signals blocked: every husk is cloned from it and inherits all of that.
     */
    private HuskInjector startTemplate() {
        at(RestoreStep.SCRATCH, wherePid, "spawn the husk template " + TEMPLATE_PROGRAM);
        template = Spawner.spawnTraced(Spawner.Spec.of(List.of(TEMPLATE_PROGRAM)), reaper);
        created.add(template);
        Ptrace.setOptions(template, RestoreCalls.PTRACE_O_TRACESYSGOOD | RestoreCalls.PTRACE_O_TRACEFORK
                | RestoreCalls.PTRACE_O_TRACECLONE | RestoreCalls.PTRACE_O_EXITKILL);
        Ptrace.setSigmask(template, ~0L);
        HuskInjector inj = new HuskInjector(template, template, timings);
        List<Vma> maps = ProcFs.maps(template);

        AddressGaps gaps = new AddressGaps();
        for (ProcessImage p : manifest.processes()) {
            for (RegionImage r : p.regions()) {
                gaps.add(r.start(), r.end());
            }
        }
        for (Vma v : maps) {
            gaps.add(v.start(), v.end());
        }
        long addr = gaps.find(Scratch.SIZE);
        at("map the scratch area at " + Hexes.hex(addr));
        long gadget = SyscallInjector.findGadget(template, maps);
        long got = inj.rawAt(gadget, RestoreCalls.SYS_MMAP, addr, Scratch.SIZE,
                RestoreCalls.PROT_READ | RestoreCalls.PROT_WRITE | RestoreCalls.PROT_EXEC,
                RestoreCalls.MAP_PRIVATE | RestoreCalls.MAP_ANONYMOUS | RestoreCalls.MAP_FIXED_NOREPLACE, -1, 0);
        if (got != addr) {
            throw new NativeException("mmap", got < 0 && got > -4096 ? (int) -got : Errno.EEXIST,
                    "scratch area at " + Hexes.hex(addr));
        }
        scratch = new Scratch(addr, Scratch.SIZE);
        java.nio.ByteBuffer code = java.nio.ByteBuffer.allocateDirect(Scratch.CODE.length);
        code.put(Scratch.CODE).flip();
        Linux.processVmWrite(template, code, addr);
        inj.useScratch(scratch);

        at("unregister the template's rseq");
        Ptrace.RseqConfig rseq = Ptrace.rseqConfiguration(template);
        if (rseq.pointer() != 0) {
            inj.call("rseq(unregister)", RestoreCalls.SYS_RSEQ, rseq.pointer(), rseq.size(),
                    RestoreCalls.RSEQ_FLAG_UNREGISTER, rseq.signature() & 0xffffffffL);
        }

        at(RestoreStep.SPECIAL_MAPPINGS, wherePid, "unmap the template's own mappings");
        List<long[]> keep = new ArrayList<>();
        keep.add(new long[] {scratch.address(), scratch.end()});
        for (Vma v : maps) {
            if (Checks.specialKind(v.path()) != null) {
                keep.add(new long[] {v.start(), v.end()});
            }
        }
        keep.sort(java.util.Comparator.comparingLong(r -> r[0]));
        long from = 0;
        for (long[] k : keep) {
            if (k[0] > from) {
                inj.call("munmap " + Hexes.hex(from) + "-" + Hexes.hex(k[0]), RestoreCalls.SYS_MUNMAP, from, k[0] - from);
            }
            from = Math.max(from, k[1]);
        }
        if (from < AddressGaps.TASK_SIZE) {
            inj.call("munmap " + Hexes.hex(from) + "-" + Hexes.hex(AddressGaps.TASK_SIZE), RestoreCalls.SYS_MUNMAP,
                    from, AddressGaps.TASK_SIZE - from);
        }
        return inj;
    }

    /** The template has served once the tree stands: kill and reap it. */
    private void endTemplate() {
        at(RestoreStep.TREE, wherePid, "end the husk template");
        killAndReap(template);
        created.remove(Integer.valueOf(template));
    }

    /** Wall time per phase, for the debug log. Not thread-safe. */
    private static final class PhaseClock {
        private final StringBuilder sb = new StringBuilder();
        private long last = System.nanoTime();

        void lap(String phase) {
            long now = System.nanoTime();
            sb.append(sb.length() == 0 ? "" : ", ").append(phase).append(' ').append((now - last) / 1000);
            last = now;
        }

        @Override
        public String toString() { return sb.toString(); }
    }

    /** SIGKILL by pid, then wait (as its tracer) until it is gone. */
    static void killAndReap(int pid) {
        Linux.killIfAlive(pid, RestoreCalls.SIGKILL);
        try {
            while (true) {
                WaitStatus st = Ptrace.wait(pid);
                if (st.gone()) {
                    return;
                }
            }
        } catch (NativeException e) {
            // ECHILD: already reaped (by the daemon's reaper) or not ours to wait for
        }
    }

    /** Kills everything this run created, children before parents, by pid. */
    private void cleanUp() {
        List<Integer> all = new ArrayList<>(created);
        java.util.Collections.reverse(all);
        for (int pid : all) {
            Linux.killIfAlive(pid, RestoreCalls.SIGKILL);
        }
        for (int tid : createdThreads) {
            killAndReap(tid);
        }
        for (int pid : all) {
            killAndReap(pid);
        }
        // a husk's child is told to us as its tracer, then stays its parent's zombie; once the parent
        // died too, a subreaper slsd inherits it and must reap it, or its PID stays taken
        long deadline = System.nanoTime() + 2_000_000_000L;
        for (int pid : all) {
            while (ProcFs.exists(pid) && System.nanoTime() < deadline) {
                try {
                    if (ProcFs.stat(pid).ppid() != Linux.getpid()) {
                        break; // init's (or another reaper's) to reap
                    }
                    Ptrace.wait(pid, RestoreCalls.WNOHANG);
                } catch (RuntimeException e) {
                    break;
                }
                Thread.onSpinWait();
            }
        }
        log.info("restore of partition {} epoch {} failed: killed {} processes it had created ({})", partition,
                manifest.epoch(), all.size(), all);
    }
}
