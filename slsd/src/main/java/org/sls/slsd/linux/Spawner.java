package org.sls.slsd.linux;

import jnr.ffi.Pointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.sls.slsd.linux.LinuxSyscalls.*;

/**
 * Starts programs as children of slsd with posix_spawn through JNR (never ProcessBuilder: the JDK's
 * reaper thread would consume their ptrace stops). Children get a new session, default signal
 * dispositions, an empty signal mask, only fds 0-2 (opened from the given paths, /dev/null by
 * default) and, for a non-root uid, that uid and its primary gid through {@code setpriv}.
 * Thread-safe; {@link #spawnTraced} must run on the thread that will trace the child.
 */
public final class Spawner {
    private static final Logger log = LoggerFactory.getLogger(Spawner.class);
    private static final short POSIX_SPAWN_SETSID = 0x80;

    private Spawner() {}

    /**
     * What to start.
     *
     * @param env  the environment; null inherits slsd's
     * @param cwd  working directory; null inherits slsd's
     * @param uid  user to run as; -1 or 0 keeps root
     */
    public record Spec(List<String> argv, Map<String, String> env, String cwd, String stdinPath,
                       String stdoutPath, String stderrPath, int uid) {
        public Spec {
            if (argv == null || argv.isEmpty()) {
                throw new IllegalArgumentException("empty argv");
            }
            argv = List.copyOf(argv);
        }

        public static Spec of(List<String> argv) {
            return new Spec(argv, null, null, null, null, null, -1);
        }

        public Spec withStdout(String path) { return new Spec(argv, env, cwd, stdinPath, path, path, uid); }
        public Spec withUid(int u) { return new Spec(argv, env, cwd, stdinPath, stdoutPath, stderrPath, u); }
        public Spec withCwd(String c) { return new Spec(argv, env, c, stdinPath, stdoutPath, stderrPath, uid); }
    }

    /** Starts the program running; it is a child of slsd, watched by {@code reaper}. */
    public static int spawn(Spec spec, Reaper reaper) {
        List<String> argv = withSetpriv(spec);
        int pid = posixSpawn(resolve(argv.get(0), spec.env()), argv, spec);
        reaper.watch(pid);
        log.debug("spawned pid {}: {}", pid, spec.argv());
        return pid;
    }

    /**
     * Starts the program traced by the calling thread and stopped before its first instruction
     * (the PTRACE_EVENT_EXEC stop of the program itself): a /bin/sh wrapper stops itself, is seized,
     * continued and followed through its exec (and setpriv's, for another uid).
     */
    public static int spawnTraced(Spec spec, Reaper reaper) {
        List<String> inner = withSetpriv(spec);
        List<String> argv = new ArrayList<>();
        argv.add("/bin/sh");
        argv.add("-c");
        argv.add("kill -STOP $$; exec \"$@\"");
        argv.add("sls-spawn");
        argv.add(resolve(inner.get(0), spec.env()));
        argv.addAll(inner.subList(1, inner.size()));
        int pid = posixSpawn("/bin/sh", argv, spec);
        reaper.watch(pid);
        int execs = execsBefore(spec);
        try {
            waitForStop(pid);
            Ptrace.seize(pid, PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD);
            Linux.kill(pid, SIGCONT);
            while (execs > 0) {
                WaitStatus st = Ptrace.wait(pid);
                if (st.gone()) {
                    throw new IllegalStateException("spawned program " + spec.argv().get(0) + " ended before it started: " + st);
                }
                if (st.stopped() && st.event() == PTRACE_EVENT_EXEC) {
                    if (--execs == 0) {
                        break;
                    }
                    Ptrace.cont(pid, 0);
                } else if (st.eventStop()) {
                    Ptrace.cont(pid, 0);
                } else if (st.signalDeliveryStop()) {
                    int sig = st.stopSignal();
                    Ptrace.cont(pid, sig == SIGCONT || sig == SIGSTOP ? 0 : sig);
                } else {
                    Ptrace.cont(pid, 0);
                }
            }
            return pid;
        } catch (RuntimeException e) {
            Linux.killIfAlive(pid, SIGKILL);
            throw e;
        }
    }

    private static void waitForStop(int pid) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            ProcStat st = ProcFs.stat(pid);
            if (st.state() == 'T') {
                return;
            }
            if (st.state() == 'Z') {
                throw new IllegalStateException("spawn wrapper of pid " + pid + " exited");
            }
            Thread.onSpinWait();
            try {
                Thread.sleep(0, 200_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted");
            }
        }
        throw new IllegalStateException("spawn wrapper of pid " + pid + " did not stop");
    }

    /**
     * For another uid: setpriv drops to it, then a shell opens the std streams and enters the
     * working directory with that uid's rights (slsd, root, never opens them on its behalf).
     */
    private static List<String> withSetpriv(Spec spec) {
        if (spec.uid() <= 0) {
            return spec.argv();
        }
        int gid = primaryGid(spec.uid());
        List<String> a = new ArrayList<>(List.of("/usr/bin/setpriv", "--reuid=" + spec.uid(), "--regid=" + gid,
                "--clear-groups", "--", "/bin/sh", "-c",
                "cd \"$1\" && exec <\"$2\" >>\"$3\" && if [ \"$4\" = \"$3\" ]; then exec 2>&1; else exec 2>>\"$4\"; fi"
                        + " && shift 4 && exec \"$@\"",
                "sls-io", spec.cwd() == null ? "." : spec.cwd(), orNull(spec.stdinPath()), orNull(spec.stdoutPath()),
                orNull(spec.stderrPath())));
        a.add(resolve(spec.argv().get(0), spec.env()));
        a.addAll(spec.argv().subList(1, spec.argv().size()));
        return a;
    }

    /** Execs between the spawn and the program itself. */
    private static int execsBefore(Spec spec) {
        return spec.uid() > 0 ? 3 : 1; // [sh stop] -> setpriv -> sh io -> program, or [sh stop] -> program
    }

    private static int primaryGid(int uid) {
        try {
            for (String l : Files.readAllLines(Path.of("/etc/passwd"))) {
                String[] f = l.split(":");
                if (f.length > 3 && f[2].equals(Integer.toString(uid))) {
                    return Integer.parseInt(f[3]);
                }
            }
        } catch (Exception e) {
            // fall through
        }
        return uid;
    }

    /** Resolves a program name through PATH as execvp would. */
    public static String resolve(String prog, Map<String, String> env) {
        if (prog.contains("/")) {
            return prog;
        }
        String path = env != null && env.containsKey("PATH") ? env.get("PATH")
                : System.getenv().getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin");
        for (String dir : path.split(":")) {
            File f = new File(dir.isEmpty() ? "." : dir, prog);
            if (f.isFile() && f.canExecute()) {
                return f.getPath();
            }
        }
        throw new IllegalArgumentException(prog + ": not found in PATH");
    }

    private static Pointer stringArray(List<String> strings, List<Pointer> keep) {
        Pointer arr = Sys.alloc(8L * (strings.size() + 1));
        for (int i = 0; i < strings.size(); i++) {
            Pointer s = Sys.cString(strings.get(i));
            keep.add(s);
            arr.putLong(8L * i, s.address());
        }
        arr.putLong(8L * strings.size(), 0);
        return arr;
    }

    private static void check(int rc, String what) {
        if (rc != 0) {
            throw new NativeException(what, rc, "spawn");
        }
    }

    private static int posixSpawn(String path, List<String> argv, Spec given) {
        // another uid opens its own std streams and enters its directory itself (see withSetpriv)
        Spec spec = given.uid() > 0 ? new Spec(given.argv(), given.env(), null, null, null, null, given.uid()) : given;
        LinuxSyscalls.Libc c = Sys.LIBC;
        List<Pointer> keep = new ArrayList<>();
        Pointer fa = Sys.alloc(1024);
        Pointer attr = Sys.alloc(1024);
        Pointer sigs = Sys.alloc(128);
        Pointer pid = Sys.alloc(8);
        check(c.posix_spawn_file_actions_init(fa), "posix_spawn_file_actions_init");
        check(c.posix_spawnattr_init(attr), "posix_spawnattr_init");
        try {
            check(c.posix_spawn_file_actions_addopen(fa, 0, orNull(spec.stdinPath()), O_RDONLY, 0), "addopen stdin");
            check(c.posix_spawn_file_actions_addopen(fa, 1, orNull(spec.stdoutPath()), O_WRONLY | O_CREAT | O_APPEND, 0644), "addopen stdout");
            if (spec.stderrPath() != null && spec.stderrPath().equals(spec.stdoutPath())) {
                check(c.posix_spawn_file_actions_adddup2(fa, 1, 2), "adddup2 stderr");
            } else {
                check(c.posix_spawn_file_actions_addopen(fa, 2, orNull(spec.stderrPath()), O_WRONLY | O_CREAT | O_APPEND, 0644), "addopen stderr");
            }
            if (spec.cwd() != null) {
                check(c.posix_spawn_file_actions_addchdir_np(fa, spec.cwd()), "addchdir " + spec.cwd());
            }
            check(c.posix_spawn_file_actions_addclosefrom_np(fa, 3), "addclosefrom");
            sigs.setMemory(0, 128, (byte) 0);
            check(c.posix_spawnattr_setsigmask(attr, sigs), "setsigmask");
            sigs.putLong(0, ~((1L << (SIGKILL - 1)) | (1L << (SIGSTOP - 1))));
            check(c.posix_spawnattr_setsigdefault(attr, sigs), "setsigdefault");
            check(c.posix_spawnattr_setflags(attr, (short) (POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID)), "setflags");
            Map<String, String> env = spec.env() != null ? spec.env() : System.getenv();
            List<String> envList = new ArrayList<>();
            env.forEach((k, v) -> envList.add(k + "=" + v));
            Pointer argvP = stringArray(argv, keep);
            Pointer envP = stringArray(envList, keep);
            int rc = c.posix_spawn(pid, path, fa, attr, argvP, envP);
            if (rc != 0) {
                throw new NativeException("posix_spawn", rc, path);
            }
            return pid.getInt(0);
        } finally {
            c.posix_spawn_file_actions_destroy(fa);
            c.posix_spawnattr_destroy(attr);
        }
    }

    private static String orNull(String p) {
        return p == null ? "/dev/null" : p;
    }
}
