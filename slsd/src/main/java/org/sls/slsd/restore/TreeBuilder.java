package org.sls.slsd.restore;

import org.sls.slsd.checkpoint.manifest.ProcessImage;
import org.sls.slsd.linux.Ptrace;
import org.sls.slsd.linux.RestoreCalls;
import org.sls.slsd.linux.WaitStatus;
import org.sls.slsd.resources.PtyKind;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Step 0: every restored process starts as a copy of the husk standing for its checkpointed parent,
 * made by injecting {@code clone3} with {@code set_tid} (its original PID) into that husk; roots
 * are cloned from the template with {@code CLONE_PARENT} so that they become slsd's children.
 * Sessions are made right after each clone (before any child inherits them), process groups once
 * their leader exists: two kinds of stages, each {@link Stage#DONE} or {@link Stage#BLOCKED}
 * until its dependency is built. Not thread-safe; runs on the restore's tracer thread.
 */
final class TreeBuilder {
    private static final Logger log = LoggerFactory.getLogger(TreeBuilder.class);

    /** One unit of the tree's construction. */
    private interface TreeStage {
        Stage run();

        String describe();
    }

    private final RestoreRun run;
    private final HuskInjector template;
    private final Set<Integer> inCheckpoint;

    TreeBuilder(RestoreRun run, HuskInjector template) {
        this.run = run;
        this.template = template;
        this.inCheckpoint = run.manifest.processes().stream().map(ProcessImage::pid).collect(Collectors.toSet());
    }

    void build() {
        List<TreeStage> pending = new ArrayList<>();
        for (ProcessImage p : run.manifest.processes()) {
            pending.add(new TreeStage() {
                public Stage run() { return create(p); }
                public String describe() { return "pid " + p.pid() + " waits for its parent " + p.ppid(); }
            });
        }
        for (ProcessImage p : run.manifest.processes()) {
            pending.add(new TreeStage() {
                public Stage run() { return joinGroup(p); }
                public String describe() { return "pid " + p.pid() + " waits for its group leader " + p.pgid(); }
            });
        }
        while (!pending.isEmpty()) {
            boolean progress = false;
            for (var it = pending.iterator(); it.hasNext(); ) {
                if (it.next().run() == Stage.DONE) {
                    it.remove();
                    progress = true;
                }
            }
            if (!progress) {
                throw new IllegalStateException("the process tree cannot be built: "
                        + pending.stream().map(TreeStage::describe).collect(Collectors.joining(", ")));
            }
        }
    }

    private boolean isRoot(ProcessImage p) {
        return !inCheckpoint.contains(p.ppid()) || p.ppid() == p.pid();
    }

    private Stage create(ProcessImage p) {
        HuskInjector via;
        if (isRoot(p)) {
            via = template;
        } else {
            Husk parent = run.husks.get(p.ppid());
            if (parent == null) {
                return Stage.BLOCKED;
            }
            via = parent.leader;
        }
        run.at(RestoreStep.TREE, p.pid(), "clone3 with set_tid " + p.pid() + " in pid " + via.tgid());
        long setTid = run.newPids ? 0 : via.data(java.nio.ByteBuffer.allocate(4)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(0, p.pid()).array());
        long flags = isRoot(p) ? RestoreCalls.CLONE_PARENT : 0;
        // clone3 refuses an exit signal with CLONE_PARENT: the child then takes the template's (SIGCHLD)
        long args = via.data(RestoreCalls.cloneArgs(flags, isRoot(p) ? 0 : RestoreCalls.SIGCHLD, setTid));
        int child = (int) via.call("clone3", RestoreCalls.SYS_CLONE3, args, RestoreCalls.CLONE_ARGS_SIZE);
        run.created.add(child);
        WaitStatus st = Ptrace.wait(child);
        if (!st.stopped()) {
            throw new IllegalStateException("new husk " + child + " did not stop: " + st);
        }
        HuskInjector inj = new HuskInjector(child, child, run.timings);
        inj.useScratch(run.scratch);
        Husk h = new Husk(p, child, inj);
        run.husks.put(p.pid(), h);

        if (PtyKind.leadsSession(p, inCheckpoint)) {
            run.at("setsid");
            inj.call("setsid", RestoreCalls.SYS_SETSID);
            if (p.sid() != p.pid()) {
                log.info("pid {}: its session leader {} is not in the checkpoint: it leads a session of its own,"
                        + " to own its restored terminal", p.pid(), p.sid());
            }
            // before any child is cloned from it: children inherit the controlling terminal at fork
            run.resources.acquireControllingTerminal(run.huskCalls(h), p, inCheckpoint);
        } else {
            if (p.pgid() == p.pid()) {
                run.at("setpgid(0, 0)");
                inj.call("setpgid", RestoreCalls.SYS_SETPGID, 0, 0);
            }
            Husk parent = run.husks.get(p.ppid());
            if (parent == null || parent.image.sid() != p.sid()) {
                log.info("pid {}: its session {} is not in the checkpoint or not its parent's: it stays in session {}",
                        p.pid(), p.sid(), parent == null ? "of the husk template" : parent.pid);
            }
        }
        log.debug("husk {} for pid {} (parent husk {})", child, p.pid(), via.tgid());
        return Stage.DONE;
    }

    private Stage joinGroup(ProcessImage p) {
        if (p.pgid() == p.pid() || PtyKind.leadsSession(p, inCheckpoint)) {
            return Stage.DONE;
        }
        Husk self = run.husks.get(p.pid());
        if (self == null) {
            return Stage.BLOCKED;
        }
        if (!inCheckpoint.contains(p.pgid())) {
            log.info("pid {}: its process group {} has no leader in the checkpoint: it keeps its parent's group",
                    p.pid(), p.pgid());
            return Stage.DONE;
        }
        Husk leader = run.husks.get(p.pgid());
        if (leader == null) {
            return Stage.BLOCKED;
        }
        run.at(RestoreStep.TREE, p.pid(), "setpgid(0, " + leader.pid + ")");
        self.leader.call("setpgid", RestoreCalls.SYS_SETPGID, 0, leader.pid);
        return Stage.DONE;
    }
}
