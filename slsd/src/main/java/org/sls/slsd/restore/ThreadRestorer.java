package org.sls.slsd.restore;

import org.sls.slsd.checkpoint.manifest.ProcessImage.SiginfoImage;
import org.sls.slsd.checkpoint.manifest.ThreadImage;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.Ptrace;
import org.sls.slsd.linux.Regs;
import org.sls.slsd.linux.WaitStatus;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import static org.sls.slsd.linux.RestoreCalls.*;

/**
 * Steps 6 and 7: every further thread cloned in the main thread with {@code clone3}
 * (CLONE_THREAD, {@code set_tid} = its original TID), each thread's own kernel state (tid address,
 * robust list, rseq, sigaltstack, name, pending signals), then the end: scratch area unmapped,
 * registers (NT_PRSTATUS with orig_rax = -1, so the kernel restarts nothing itself: interrupted
 * calls were already turned into a restart or -EINTR at capture) and extended state (NT_X86_XSTATE)
 * set, signal masks set, and every thread detached; with {@code stopped} (or for a process that
 * was stopped at the checkpoint) a SIGSTOP is queued first, so the process stops untraced and
 * {@code kill -CONT} continues it. Not thread-safe; runs on the restore's tracer thread.
 */
final class ThreadRestorer {
    private static final Logger log = LoggerFactory.getLogger(ThreadRestorer.class);

    private final RestoreRun run;
    private final StateRestorer state;

    ThreadRestorer(RestoreRun run) {
        this.run = run;
        this.state = new StateRestorer(run);
    }

    void createThreads(Husk h) {
        for (ThreadImage t : h.image.threads()) {
            if (t.tid() == h.checkpointedPid()) {
                continue;
            }
            run.at(RestoreStep.THREADS, h.checkpointedPid(), "clone3 thread " + t.tid());
            HuskInjector leader = h.leader;
            long setTid = run.newPids ? 0 : leader.data(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN)
                    .putInt(0, t.tid()).array());
            long args = leader.data(cloneArgs(CLONE_THREAD_FLAGS, 0, setTid));
            int tid = (int) leader.call("clone3", SYS_CLONE3, args, CLONE_ARGS_SIZE);
            run.createdThreads.add(tid);
            WaitStatus st = Ptrace.wait(tid);
            if (!st.stopped()) {
                throw new IllegalStateException("new thread " + tid + " did not stop: " + st);
            }
            HuskInjector inj = new HuskInjector(h.pid, tid, run.timings);
            inj.useScratch(run.scratch);
            h.threads.put(t.tid(), inj);
        }
    }

    void perThreadState(Husk h) {
        for (ThreadImage t : h.image.threads()) {
            HuskInjector inj = h.threads.get(t.tid());
            run.at(RestoreStep.THREADS, h.checkpointedPid(), "tid " + t.tid() + ": set_tid_address");
            inj.call("set_tid_address", SYS_SET_TID_ADDRESS, t.clearChildTid());
            if (t.robustListHead() != 0) {
                run.at("tid " + t.tid() + ": set_robust_list");
                inj.call("set_robust_list", SYS_SET_ROBUST_LIST, t.robustListHead(), t.robustListLen());
            }
            if (t.rseq() != null && t.rseq().pointer() != 0) {
                run.at("tid " + t.tid() + ": rseq at " + Hexes.hex(t.rseq().pointer()));
                inj.call("rseq", SYS_RSEQ, t.rseq().pointer(), t.rseq().size(), 0, t.rseq().signature());
            }
            ThreadImage.AltStack as = t.altStack();
            if (as != null && (as.flags() & SS_DISABLE) == 0) {
                run.at("tid " + t.tid() + ": sigaltstack");
                // SS_ONSTACK only reports that the thread ran on it; it cannot be asked for
                int flags = (int) (as.flags() & SS_AUTODISARM);
                inj.call("sigaltstack", SYS_SIGALTSTACK, inj.data(stack(as.sp(), flags, as.size())), 0);
            }
            run.at("tid " + t.tid() + ": name " + t.comm());
            inj.call("prctl(PR_SET_NAME)", SYS_PRCTL, PR_SET_NAME, inj.data(cString(t.comm())));
            for (SiginfoImage si : t.pending()) {
                state.queue(h, inj.tid(), si, false);
            }
        }
    }

    /** Step 7 for one process: everything but the detach. */
    void setFinalState(Husk h) {
        List<ThreadImage> threads = new ArrayList<>(h.image.threads());
        // the main thread last: it unmaps the scratch area the others no longer need
        threads.sort((a, b) -> Boolean.compare(a.tid() == h.checkpointedPid(), b.tid() == h.checkpointedPid()));
        for (ThreadImage t : threads) {
            HuskInjector inj = h.threads.get(t.tid());
            if (t.tid() == h.checkpointedPid()) {
                run.at(RestoreStep.RESUME, h.checkpointedPid(), "munmap the scratch area");
                inj.call("munmap", SYS_MUNMAP, run.scratch.address(), run.scratch.size());
            }
            run.at(RestoreStep.RESUME, h.checkpointedPid(), "tid " + t.tid() + ": registers");
            Regs regs = new Regs(t.rawRegs());
            regs.set(Regs.ORIG_RAX, -1);
            Ptrace.setRegs(inj.tid(), regs);
            run.at("tid " + t.tid() + ": extended state (NT_X86_XSTATE)");
            Ptrace.setXState(inj.tid(), t.rawXstate());
            run.at("tid " + t.tid() + ": signal mask");
            Ptrace.setSigmask(inj.tid(), t.sigmask());
        }
        if (run.stopped || "T".equals(h.image.state())) {
            Linux.kill(h.pid, SIGSTOP);
        }
    }

    /** Lets every restored thread go, children's processes and parents' alike, in one sweep at the end. */
    void detachAll() {
        for (Husk h : run.husks.values()) {
            for (HuskInjector t : h.threads.values()) {
                run.at(RestoreStep.RESUME, h.checkpointedPid(), "detach tid " + t.tid());
                Ptrace.detach(t.tid(), 0);
            }
            log.debug("pid {} restored as {} ({} threads)", h.checkpointedPid(), h.pid, h.threads.size());
        }
    }
}
