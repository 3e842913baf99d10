package org.sls.slsd.restore;

import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.checkpoint.manifest.ProcessImage;
import org.sls.slsd.checkpoint.manifest.ProcessImage.SigactionImage;
import org.sls.slsd.checkpoint.manifest.ProcessImage.SiginfoImage;
import org.sls.slsd.linux.Errno;
import org.sls.slsd.resources.HuskCalls;
import org.sls.slsd.resources.RestoreContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Base64;
import java.util.List;

import static org.sls.slsd.linux.RestoreCalls.*;

/**
 * Step 5, the process-wide state, by syscalls injected into the husk's main thread: sigactions,
 * rlimits, umask, fds (regular files and directories reopened at their path, flags and offset;
 * /dev/null-like devices reopened; std streams that were on a pipe, socket or non-pty terminal
 * outside the partition connected to /dev/null; the kinds of org.sls.slsd.resources, such as
 * pseudo-terminals, by their classes), cwd, root, personality, shared pending signals; and, last of
 * all and in every thread, the credentials. Not thread-safe; runs on the restore's tracer thread.
 */
final class StateRestorer {
    private static final Logger log = LoggerFactory.getLogger(StateRestorer.class);
    private static final int MAX_SIGNAL = 64;

    private final RestoreRun run;
    /** The fd kinds of org.sls.slsd.resources: objects shared between husks live here until {@link #closeResources}. */
    private final RestoreContext resources;

    StateRestorer(RestoreRun run) {
        this.run = run;
        this.resources = run.resources;
    }

    /** The terminals slsd made for the run's pseudo-terminals, now the run's to keep (or close on failure). */
    java.util.List<org.sls.slsd.resources.Terminal> takeTerminals() {
        return resources.takeTerminals();
    }

    /** Once the tree stands, before any fds: the foreground process group of the terminal of the session the husk leads. */
    void foregroundGroup(Husk h) {
        run.at(RestoreStep.PROCESS_STATE, h.checkpointedPid(), "foreground process group of its terminal");
        resources.restoreForeground(run.huskCalls(h), h.image, run.husks.keySet());
    }

    /** Ends the fd objects slsd kept for the run (after every husk got its fds, or on failure). */
    void closeResources() {
        resources.close();
    }

    void restore(Husk h) {
        ProcessImage p = h.image;
        HuskInjector inj = h.leader;
        for (SigactionImage sa : p.sigactions()) {
            if (sa.signal() == SIGKILL || sa.signal() == SIGSTOP || sa.signal() < 1 || sa.signal() > MAX_SIGNAL) {
                continue;
            }
            run.at(RestoreStep.PROCESS_STATE, p.pid(), "rt_sigaction(" + sa.signal() + ")");
            long act = inj.data(sigaction(sa.handler(), sa.flags(), sa.restorer(), sa.mask()));
            inj.call("rt_sigaction", SYS_RT_SIGACTION, sa.signal(), act, 0, 8);
        }
        for (ProcessImage.Rlimit rl : p.rlimits()) {
            Integer res = RLIMITS.get(rl.resource());
            if (res == null) {
                log.info("pid {}: unknown resource limit \"{}\" not restored", p.pid(), rl.resource());
                continue;
            }
            run.at(RestoreStep.PROCESS_STATE, p.pid(), "prlimit64(" + rl.resource() + ")");
            long r = inj.raw(SYS_PRLIMIT64, 0, res, inj.data(rlimit(rl.soft(), rl.hard())), 0);
            if (r == -Errno.EPERM) {
                // raising a hard limit needs CAP_SYS_RESOURCE, which slsd does not have
                log.warn("pid {}: {} limit {}/{} cannot be restored without CAP_SYS_RESOURCE; it keeps slsd's",
                        p.pid(), rl.resource(), rl.soft(), rl.hard());
            } else if (r < 0) {
                inj.call("prlimit64", SYS_PRLIMIT64, 0, res, inj.data(rlimit(rl.soft(), rl.hard())), 0);
            }
        }
        run.at(RestoreStep.PROCESS_STATE, p.pid(), "umask");
        inj.call("umask", SYS_UMASK, p.umask());
        fds(h);
        run.at(RestoreStep.PROCESS_STATE, p.pid(), "chdir " + p.cwd());
        inj.call("chdir", SYS_CHDIR, inj.data(cString(p.cwd())));
        if (!p.root().equals("/")) {
            run.at(RestoreStep.PROCESS_STATE, p.pid(), "chroot " + p.root());
            inj.call("chroot", SYS_CHROOT, inj.data(cString(p.root())));
        }
        run.at(RestoreStep.PROCESS_STATE, p.pid(), "personality");
        inj.call("personality", SYS_PERSONALITY, p.personality());
        for (SiginfoImage si : p.sharedPending()) {
            queue(h, h.pid, si, true);
        }
    }

    /** Re-queues one pending signal with its siginfo, from the main thread (the only caller the kernel lets send any si_code). */
    void queue(Husk h, int tid, SiginfoImage si, boolean shared) {
        if (si.signal() == SIGKILL || si.signal() == SIGSTOP || si.signal() == SIGCONT) {
            log.info("pid {}: pending signal {} dropped", h.checkpointedPid(), si.signal());
            return;
        }
        run.at(RestoreStep.PROCESS_STATE, h.checkpointedPid(), "queue pending signal " + si.signal());
        long info = h.leader.data(Base64.getDecoder().decode(si.siginfo()));
        if (shared) {
            h.leader.call("rt_sigqueueinfo", SYS_RT_SIGQUEUEINFO, h.pid, si.signal(), info);
        } else {
            h.leader.call("rt_tgsigqueueinfo", SYS_RT_TGSIGQUEUEINFO, h.pid, tid, si.signal(), info);
        }
    }

    private void fds(Husk h) {
        ProcessImage p = h.image;
        HuskInjector inj = h.leader;
        run.at(RestoreStep.PROCESS_STATE, p.pid(), "close the husk's fds");
        inj.call("close_range", SYS_CLOSE_RANGE, 0, 0xffffffffL, 0);
        for (FdImage fd : p.fds()) {
            if (RestoreContext.handles(fd.kind())) {
                continue; // below, once the others are in place (an epoll waits for its targets)
            }
            String path = fd.path();
            int flags = fd.flags() & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY);
            switch (fd.kind()) {
                case REGULAR, CHAR_DEVICE -> { }
                case DIRECTORY -> flags |= O_DIRECTORY;
                case STD_PIPE, STD_TTY, STD_SOCKET -> {
                    log.info("pid {} fd {}: {} ({}) is outside the restore; connected to /dev/null", p.pid(), fd.fd(),
                            fd.kind(), fd.path());
                    path = "/dev/null";
                    flags &= O_ACCMODE | O_CLOEXEC;
                }
                default -> throw new RestoreException(RestoreException.Kind.UNSUPPORTED, Checks.who(p.pid())
                        + ": fd " + fd.fd() + " (" + fd.path() + ") of kind " + fd.kind() + " cannot be restored");
            }
            run.at(RestoreStep.PROCESS_STATE, p.pid(), "fd " + fd.fd() + ": open " + path);
            int got = (int) inj.call("openat " + path, SYS_OPENAT, AT_FDCWD, inj.data(cString(path)), flags, 0);
            if (got != fd.fd()) {
                inj.call("dup3", SYS_DUP3, got, fd.fd(), flags & O_CLOEXEC);
                inj.call("close", SYS_CLOSE, got);
            }
            if (fd.kind() == FdImage.Kind.REGULAR && fd.offset() != 0) {
                inj.call("lseek", SYS_LSEEK, fd.fd(), fd.offset(), SEEK_SET);
            }
        }
        run.at(RestoreStep.PROCESS_STATE, p.pid(), "fds of org.sls.slsd.resources");
        resources.restoreProcess(run.huskCalls(h), p.fds());
    }

    /**
     * Credentials in every thread (the kernel keeps them per thread; glibc's setxid broadcast does
     * not exist here), last because everything before needed root: groups, gids, the capability
     * bounding set (dropped while still root), uids with PR_SET_KEEPCAPS so that the permitted set
     * survives a change of uid, then exactly the checkpointed effective, permitted and inheritable
     * sets (capset can only lower them: nothing is gained) and the ambient set. A process whose ids
     * change would become non-dumpable, which would lock its owner out of /proc and ptrace: it is made
     * dumpable again, as it was when it ran as that user.
     */
    void credentials(Husk h) {
        ProcessImage.Credentials c = h.image.credentials();
        List<Integer> u = c.uids();
        List<Integer> g = c.gids();
        boolean changes = u.stream().anyMatch(x -> x != 0) || g.stream().anyMatch(x -> x != 0);
        long bnd = caps(c.capBnd(), -1);
        long own = caps(ownCap("CapBnd"), 0);
        for (HuskInjector t : h.threads.values()) {
            run.at(RestoreStep.PROCESS_STATE, h.checkpointedPid(), "credentials of tid " + t.tid());
            t.call("prctl(PR_SET_KEEPCAPS, 1)", SYS_PRCTL, PR_SET_KEEPCAPS, 1);
            t.call("setgroups", SYS_SETGROUPS, c.groups().size(), t.data(gids(c.groups())));
            t.call("setresgid", SYS_SETRESGID, g.get(0), g.get(1), g.get(2));
            for (int cap = 0; cap < 64; cap++) {
                if ((own >>> cap & 1) != 0 && (bnd >>> cap & 1) == 0) {
                    t.call("prctl(PR_CAPBSET_DROP, " + cap + ")", SYS_PRCTL, PR_CAPBSET_DROP, cap);
                }
            }
            t.call("setresuid", SYS_SETRESUID, u.get(0), u.get(1), u.get(2));
            if (c.capEff() != null && c.capPrm() != null && c.capInh() != null) {
                long hdr = t.data(capHeader());
                long data = t.data(capData(caps(c.capEff(), 0), caps(c.capPrm(), 0), caps(c.capInh(), 0)));
                t.call("capset", SYS_CAPSET, hdr, data);
            }
            t.call("prctl(PR_SET_KEEPCAPS, 0)", SYS_PRCTL, PR_SET_KEEPCAPS, 0);
            long amb = caps(c.capAmb(), 0);
            for (int cap = 0; cap < 64; cap++) {
                if ((amb >>> cap & 1) != 0) {
                    t.call("prctl(PR_CAP_AMBIENT_RAISE, " + cap + ")", SYS_PRCTL, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
                }
            }
            if (c.noNewPrivs()) {
                t.call("prctl(PR_SET_NO_NEW_PRIVS)", SYS_PRCTL, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
            }
        }
        if (changes) {
            h.leader.call("prctl(PR_SET_DUMPABLE)", SYS_PRCTL, PR_SET_DUMPABLE, 1);
        }
    }

    private static long caps(String hex, long absent) {
        return hex == null || hex.isBlank() ? absent : Long.parseUnsignedLong(hex.trim(), 16);
    }

    /** A capability set of slsd itself, as /proc/self/status prints it. */
    private static String ownCap(String field) {
        try {
            for (String l : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (l.startsWith(field + ":")) {
                    return l.substring(field.length() + 1).trim();
                }
            }
        } catch (java.io.IOException e) {
            return "";
        }
        return "";
    }

}
