package org.sls.slsd.resources;

import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.checkpoint.CheckpointException;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.linux.FdCalls;
import org.sls.slsd.linux.Linux;

import java.util.Map;

/**
 * A pidfd on a process of the partition: restore opens a pidfd on that process as restored
 * (under its new pid with --new-pids), once per open file, and installs it in every holder, so
 * that signals through it and waiting on it work again. A pidfd on a process outside the partition,
 * or on one that has exited, is refused. Stateless, thread-safe.
 */
final class PidfdKind implements FdKind {
    @Override
    public FdImage.Kind kind() { return FdImage.Kind.PIDFD; }

    @Override
    public boolean supports(FdProbe p, CaptureContext ctx) {
        return p.link().equals("anon_inode:[pidfd]") || p.link().startsWith("pidfd:");
    }

    @Override
    public String identity(FdProbe p, CaptureContext ctx) {
        return ctx.sameFileIdentity(p, "pidfd");
    }

    @Override
    public FdImage capture(FdProbe p, CaptureContext ctx) {
        String target = p.info().getOrDefault("Pid", "-1").trim();
        int pid = Integer.parseInt(target);
        String what = "pid " + p.pid() + " fd " + p.fd() + " (" + p.link() + ", pidfd";
        if (pid <= 0) {
            throw new CheckpointException(CheckpointException.Kind.UNSUPPORTED_RESOURCE, what
                    + " of a process that has exited): not supported");
        }
        if (!ctx.pids().contains(pid)) {
            throw new CheckpointException(CheckpointException.Kind.UNSUPPORTED_RESOURCE, what + " of pid " + pid
                    + ", outside the partition): not supported");
        }
        return new FdImage(p.fd(), kind(), p.link(), p.flags(), 0, p.mode(), identity(p, ctx),
                Map.of("pid", Integer.toString(pid)));
    }

    @Override
    public Outcome restore(FdImage fd, RestoreContext ctx) {
        int checkpointed = Integer.parseInt(fd.detail("pid", "-1"));
        int pid = ctx.husk().restoredPid(checkpointed);
        if (pid <= 0) {
            throw new IllegalStateException("pid " + ctx.husk().checkpointedPid() + " fd " + fd.fd() + ": pidfd of pid "
                    + checkpointed + ", which this restore does not bring back");
        }
        int file = ctx.sharedFd("pidfd:" + fd.identity(), () -> {
            int f = Linux.pidfdOpen(pid);
            FdCalls.fcntl(f, FdCalls.F_SETFL, fd.flags() & FdCalls.O_NONBLOCK, "pidfd of pid " + pid);
            return f;
        });
        ctx.install(file, fd);
        return Outcome.DONE;
    }
}
