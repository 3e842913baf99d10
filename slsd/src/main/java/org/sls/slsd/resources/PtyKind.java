package org.sls.slsd.resources;

import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.checkpoint.CheckpointException;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.checkpoint.manifest.ProcessImage;
import org.sls.slsd.linux.FdCalls;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.PtyCalls;
import org.sls.slsd.linux.RestoreCalls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Pseudo-terminals: the slave of one whose master is outside the partition (tmux, script, sshd):
 * fds on {@code /dev/pts/N} (any number of them, in any process) and opens of {@code /dev/tty}
 * that lead to it; and both ends when the partition hosts the terminal (tmux's server, script).
 *
 * <p>Capture: the terminal's termios and window size (saved once per terminal, read through a
 * fresh open of the slave, which does not disturb its readers), and, on every fd, which session
 * has it as its controlling terminal and its foreground process group (/proc/PID/stat of the
 * partition's processes). The bytes queued in the terminal are not saved: they belong to the
 * conversation with the old master, which stays with its owner; their counts are logged and kept
 * in the image ({@code pendingInput}, {@code pendingOutput}). A terminal whose master the partition
 * also holds (the partition hosts tmux or script) comes back whole: the master fds ({@code /dev/ptmx},
 * identified by the fdinfo {@code tty-index}) are the new pty's master, which slsd then does not
 * keep; such a master whose slave a process outside the partition holds, or in packet mode, is
 * refused.
 *
 * <p>Restore: slsd opens a new pty ({@code posix_openpt}), gives its slave the saved termios and
 * window size, makes it the controlling terminal of the restored session leader
 * ({@code TIOCSCTTY} injected into the husk right after {@code setsid} made it a leader, before
 * its children are cloned: see {@link #acquireControllingTerminal}) with the saved foreground
 * group ({@code TIOCSPGRP} once the tree stands: {@link #restoreForeground}), installs the
 * slave at every checkpointed fd (one open file per distinct flags, shared between holders as
 * after a fork) and reopens {@code /dev/tty} in the husks that had it open. The master is not
 * closed with the run: it becomes a {@link Terminal} that slsd keeps for {@code slsctl console}.
 *
 * <p>Stateless, thread-safe.
 */
public final class PtyKind implements FdKind {
    private static final Logger log = LoggerFactory.getLogger(PtyKind.class);
    /** UNIX98_PTY_SLAVE_MAJOR and the majors after it (devpts numbers slaves across 8 majors). */
    private static final int PTS_MAJOR = 136, PTS_MAJORS = 8;
    private static final String DEV_TTY = "/dev/tty";

    @Override
    public FdImage.Kind kind() { return FdImage.Kind.PTY; }

    private static boolean isSlavePath(String link) {
        return link.startsWith("/dev/pts/") && link.substring("/dev/pts/".length()).chars().allMatch(Character::isDigit)
                && link.length() > "/dev/pts/".length();
    }

    private static boolean isMasterPath(String link) {
        return link.equals("/dev/ptmx") || link.equals("/dev/pts/ptmx");
    }

    /** The pts index of the controlling terminal of {@code pid}'s session, or -1 when it has none or it is no pty. */
    static int cttyIndex(int pid) {
        int[] dev = ProcFs.ttyDevice(ProcFs.controllingTerminal(pid)[0]);
        if (dev[0] < PTS_MAJOR || dev[0] >= PTS_MAJOR + PTS_MAJORS) {
            return -1;
        }
        return (dev[0] - PTS_MAJOR) * 256 + dev[1];
    }

    @Override
    public boolean supports(FdProbe p, CaptureContext ctx) {
        if (p.type() != FdProbe.S_IFCHR) {
            return false;
        }
        String l = p.link();
        return isSlavePath(l) || isMasterPath(l) || (l.equals(DEV_TTY) && cttyIndex(p.pid()) >= 0);
    }

    private static int index(FdProbe p) {
        if (isMasterPath(p.link())) {
            String i = p.info().get("tty-index");
            if (i == null) {
                throw new CheckpointException(CheckpointException.Kind.UNSUPPORTED_RESOURCE, "pid " + p.pid() + " fd "
                        + p.fd() + " (" + p.link() + "): pseudo-terminal master whose index the kernel does not show");
            }
            return Integer.parseInt(i.trim());
        }
        return p.link().equals(DEV_TTY) ? cttyIndex(p.pid()) : Integer.parseInt(p.link().substring("/dev/pts/".length()));
    }

    @Override
    public String identity(FdProbe p, CaptureContext ctx) {
        return "pty:" + index(p);
    }

    @Override
    public FdImage capture(FdProbe p, CaptureContext ctx) {
        String what = "pid " + p.pid() + " fd " + p.fd() + " (" + p.link() + ")";
        int index = index(p);
        String id = "pty:" + index;
        Map<String, String> d = new LinkedHashMap<>();
        d.put("tty", "/dev/pts/" + index);
        if (isMasterPath(p.link())) {
            // the partition hosts the terminal (tmux, script): both ends come back, on a new pty
            what = "pid " + p.pid() + " fd " + p.fd() + " (" + p.link() + ", master of /dev/pts/" + index + ")";
            Set<Integer> outside = ctx.outsideHolders("/dev/pts/" + index);
            if (!outside.isEmpty()) {
                throw new CheckpointException(CheckpointException.Kind.UNSUPPORTED_RESOURCE, what + ": its terminal is"
                        + " also held outside the partition by pid " + outside.iterator().next()
                        + "; checkpoint that process too (-r from their common ancestor)");
            }
            if (packetMode(p, what)) {
                throw new CheckpointException(CheckpointException.Kind.UNSUPPORTED_RESOURCE, what
                        + ": pseudo-terminal master in packet mode (TIOCPKT): not supported yet");
            }
            d.put("master", "true");
        } else if (ctx.cached("pty-masters", () -> masters(ctx.pids())).containsKey(index)) {
            d.put("inside", "true");
        }
        if (p.link().equals(DEV_TTY)) {
            d.put("devtty", "true");
        }
        int[] session = ctx.cached("pty-sessions", () -> sessions(ctx.pids())).get(index);
        if (session != null) {
            d.put("session", Integer.toString(session[0]));
            d.put("foreground", Integer.toString(session[1]));
        }
        if (ctx.firstOf(id)) {
            try {
                readTerminal(index, what, d);
            } catch (org.sls.slsd.linux.NativeException e) {
                throw new CheckpointException(CheckpointException.Kind.UNSUPPORTED_RESOURCE, what
                        + ": cannot read the terminal's settings through /dev/pts/" + index + ": " + e.getMessage(), e);
            }
        }
        return new FdImage(p.fd(), kind(), p.link(), p.flags(), 0, p.mode(), id, d);
    }

    private static boolean packetMode(FdProbe p, String what) {
        int pidfd = Linux.pidfdOpen(p.pid());
        try {
            int m = Linux.pidfdGetfd(pidfd, p.fd());
            try {
                return PtyCalls.packetMode(m, what);
            } finally {
                Linux.close(m);
            }
        } finally {
            Linux.close(pidfd);
        }
    }

    /** Termios, window size and queued byte counts of /dev/pts/{@code index}, into {@code d}. */
    private static void readTerminal(int index, String what, Map<String, String> d) {
        int fd = FdCalls.open("/dev/pts/" + index, FdCalls.O_RDWR | PtyCalls.O_NOCTTY | FdCalls.O_NONBLOCK | FdCalls.O_CLOEXEC);
        try {
            d.put("termios", HexFormat.of().formatHex(PtyCalls.termios(fd, what)));
            int[] w = PtyCalls.windowSize(fd, what);
            d.put("rows", Integer.toString(w[0]));
            d.put("cols", Integer.toString(w[1]));
            d.put("xpixel", Integer.toString(w[2]));
            d.put("ypixel", Integer.toString(w[3]));
            int in = PtyCalls.inputQueued(fd, what);
            int out = PtyCalls.outputQueued(fd, what);
            if (in != 0 || out != 0) {
                d.put("pendingInput", Integer.toString(in));
                d.put("pendingOutput", Integer.toString(out));
                log.info("{}: {} bytes typed and not yet read, {} bytes written and not yet shown stay with the old"
                        + " terminal; the restored one starts empty", what, in, out);
            }
        } finally {
            Linux.close(fd);
        }
    }

    /** pts index → "pid P fd N" for every pty master the partition's processes hold. */
    private static Map<Integer, String> masters(Set<Integer> pids) {
        Map<Integer, String> m = new HashMap<>();
        for (int pid : pids) {
            for (int fd : ProcFs.fds(pid)) {
                Optional<String> l = ProcFs.link(pid, "fd/" + fd);
                if (l.isPresent() && isMasterPath(l.get())) {
                    String index = ProcFs.fdinfo(pid, fd).get("tty-index");
                    if (index != null) {
                        m.putIfAbsent(Integer.parseInt(index), "pid " + pid + " fd " + fd);
                    }
                }
            }
        }
        return m;
    }

    /** pts index → {session, foreground process group} for the partition's processes' controlling ptys. */
    private static Map<Integer, int[]> sessions(Set<Integer> pids) {
        Map<Integer, int[]> m = new HashMap<>();
        for (int pid : pids) {
            int[] ctty = ProcFs.controllingTerminal(pid);
            int index = cttyIndex(pid);
            if (index >= 0) {
                m.putIfAbsent(index, new int[] {ProcFs.stat(pid).session(), ctty[1]});
            }
        }
        return m;
    }

    @Override
    public Outcome restore(FdImage fd, RestoreContext ctx) {
        Terminal t = terminal(fd.identity(), ctx);
        if (fd.detail("master", "false").equals("true")) {
            // every holder of the master shares slsd's open file (its status flags too, as after a fork)
            FdCalls.fcntl(t.master(), FdCalls.F_SETFL, fd.flags() & ~(FdCalls.O_ACCMODE | FdCalls.O_CLOEXEC), t.path());
            ctx.install(t.master(), fd);
        } else if (fd.detail("devtty", "false").equals("true")) {
            // an open of /dev/tty leads to the session's controlling terminal: only the husk can make it
            ctx.openInHusk(DEV_TTY, fd.flags() & (FdCalls.O_ACCMODE | FdCalls.O_NONBLOCK), fd);
        } else {
            int flags = fd.flags() & (FdCalls.O_ACCMODE | FdCalls.O_NONBLOCK);
            int file = ctx.sharedFd("pty-file:" + fd.identity() + ":" + Integer.toOctalString(flags),
                    () -> PtyCalls.openSlave(t.master(), flags));
            ctx.install(file, fd);
        }
        t.addHolder(ctx.husk().pid());
        return Outcome.DONE;
    }

    /** The run's new terminal for the checkpointed one {@code identity}, made the first time it is asked for. */
    private static Terminal terminal(String identity, RestoreContext ctx) {
        return ctx.object("terminal:" + identity, () -> {
            FdImage carrier = ctx.carrier(identity, "termios").orElseThrow(() -> new IllegalStateException(
                    identity + ": no fd of the checkpoint carries the terminal's settings"));
            String old = carrier.detail("tty", identity);
            int master = PtyCalls.openMaster();
            try {
                String path = "/dev/pts/" + PtyCalls.number(master);
                String what = path + " (for " + old + ")";
                // slsd keeps a slave open for the run, so that the settings stay until the husks hold it
                int slave = ctx.sharedFd("pty-slave:" + identity, () -> PtyCalls.openSlave(master, FdCalls.O_RDWR));
                PtyCalls.setTermios(slave, HexFormat.of().parseHex(carrier.detail("termios", "")), what);
                PtyCalls.setWindowSize(slave, Integer.parseInt(carrier.detail("rows", "24")),
                        Integer.parseInt(carrier.detail("cols", "80")), Integer.parseInt(carrier.detail("xpixel", "0")),
                        Integer.parseInt(carrier.detail("ypixel", "0")), what);
                Terminal t = new Terminal(master, path, old);
                boolean inside = ctx.processes().stream().flatMap(q -> q.fds().stream()).anyMatch(
                        f -> identity.equals(f.identity()) && f.detail("master", "false").equals("true"));
                if (inside) {
                    // the restored processes hold the master: slsd's copy goes with the run's other fds
                    ctx.sharedFd("pty-master:" + identity, () -> master);
                } else {
                    ctx.keepTerminal(t);
                }
                log.info("terminal {} of the checkpoint comes back as {}{}", old, path,
                        inside ? " (its master too)" : "; slsd keeps its master");
                return t;
            } catch (RuntimeException e) {
                Linux.close(master);
                throw e;
            }
        });
    }

    /**
     * Whether the restored process leads a session: it did at checkpoint time, or its session
     * leader is not in the checkpoint while it (a root of the restored tree) had a pseudo-terminal
     * of the checkpoint as its controlling terminal. Such a process gets a session of its own
     * (its session id becomes its pid), since only a session leader can own the new terminal.
     */
    public static boolean leadsSession(ProcessImage p, Set<Integer> inCheckpoint) {
        if (p.sid() == p.pid()) {
            return true;
        }
        boolean root = !inCheckpoint.contains(p.ppid()) || p.ppid() == p.pid();
        return root && !inCheckpoint.contains(p.sid()) && p.fds().stream().anyMatch(f -> f.kind() == FdImage.Kind.PTY
                && f.detail("session", "").equals(Integer.toString(p.sid())));
    }

    /** The checkpoint's pty that was the controlling terminal of {@code p}'s session, if any. */
    private static Optional<String> sessionTerminal(ProcessImage p, RestoreContext ctx) {
        for (ProcessImage q : ctx.processes()) {
            for (FdImage f : q.fds()) {
                if (f.kind() == FdImage.Kind.PTY && f.detail("session", "").equals(Integer.toString(p.sid()))) {
                    return Optional.of(f.identity()); // a session has one controlling terminal
                }
            }
        }
        return Optional.empty();
    }

    /**
     * Right after the husk became a session leader, before any of its children is cloned (they
     * inherit the controlling terminal at fork, as they did originally): if that session's
     * controlling terminal was a pty of the checkpoint, makes the new terminal its controlling
     * terminal ({@code TIOCSCTTY}), so that the session's {@code /dev/tty} opens work again.
     */
    static void acquireControllingTerminal(ProcessImage p, Set<Integer> inCheckpoint, RestoreContext ctx) {
        if (!leadsSession(p, inCheckpoint)) {
            return;
        }
        Optional<String> id = sessionTerminal(p, ctx);
        if (id.isEmpty()) {
            return;
        }
        Terminal t = terminal(id.get(), ctx);
        if (t.sessionLeader() != 0) {
            log.info("pid {}: its terminal {} is already the controlling terminal of restored pid {}; it has none",
                    p.pid(), t.path(), t.sessionLeader());
            return;
        }
        HuskCalls h = ctx.husk();
        int fd = openInHusk(h, t);
        try {
            h.call("ioctl(TIOCSCTTY) on " + t.path(), PtyCalls.SYS_IOCTL, fd, PtyCalls.TIOCSCTTY, 0);
        } finally {
            h.call("close", RestoreCalls.SYS_CLOSE, fd);
        }
        t.sessionLeader(h.pid());
        log.info("pid {}: {} is its session's controlling terminal (was {})", p.pid(), t.path(), t.checkpointedPath());
    }

    /**
     * Once every process group exists: gives the terminal of the session the husk leads its saved
     * foreground process group ({@code TIOCSPGRP}, from the leader, which the husk's blocked
     * signals spare a SIGTTOU), when that group's leader was restored.
     */
    static void restoreForeground(ProcessImage p, Set<Integer> inCheckpoint, RestoreContext ctx) {
        if (!leadsSession(p, inCheckpoint)) {
            return;
        }
        Optional<String> id = sessionTerminal(p, ctx);
        if (id.isEmpty()) {
            return;
        }
        Terminal t = terminal(id.get(), ctx);
        HuskCalls h = ctx.husk();
        int fg = Integer.parseInt(firstDetail(ctx, id.get(), "foreground", "-1"));
        if (t.sessionLeader() != h.pid() || fg <= 0) {
            return;
        }
        boolean leaderRestored = ctx.processes().stream().anyMatch(q -> q.pid() == fg && q.pgid() == fg);
        int restored = ctx.restoredPid(fg);
        if (!leaderRestored || restored <= 0) {
            log.info("pid {}: the foreground group {} of {} has no leader in the checkpoint; the session leader's"
                    + " group is in the foreground", p.pid(), fg, t.checkpointedPath());
            return;
        }
        int fd = openInHusk(h, t);
        try {
            long group = h.data(java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                    .putInt(0, restored).array());
            h.call("ioctl(TIOCSPGRP, " + restored + ") on " + t.path(), PtyCalls.SYS_IOCTL, fd, PtyCalls.TIOCSPGRP, group);
        } finally {
            h.call("close", RestoreCalls.SYS_CLOSE, fd);
        }
    }

    private static int openInHusk(HuskCalls h, Terminal t) {
        byte[] path = (t.path() + "\0").getBytes(StandardCharsets.UTF_8);
        return (int) h.call("openat " + t.path(), RestoreCalls.SYS_OPENAT, RestoreCalls.AT_FDCWD, h.data(path),
                FdCalls.O_RDWR | PtyCalls.O_NOCTTY | FdCalls.O_CLOEXEC, 0);
    }

    private static String firstDetail(RestoreContext ctx, String identity, String key, String def) {
        return ctx.carrier(identity, key).map(f -> f.detail(key, def)).orElse(def);
    }
}
