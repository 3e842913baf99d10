package org.sls.tests;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.libsls.SlsClient;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Programs on a terminal (issue 6, item 5): a process started in a pseudo-terminal that another
 * program hosts (script, tmux) is checkpointed, SIGKILLed, restored onto a new terminal that slsd
 * keeps, and typed into through {@code slsctl console}, driven through its standard streams.
 */
class TerminalTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private final List<Long> pids = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();
    private final List<String> tmuxSockets = new ArrayList<>();

    @AfterEach
    void cleanUp() {
        pids.forEach(Workloads::kill);
        for (Process p : processes) {
            p.destroyForcibly();
        }
        for (String socket : tmuxSockets) {
            Sls.run(List.of("tmux", "-L", socket, "kill-server"), Duration.ofSeconds(30));
        }
    }

    /** A process whose output is collected as it comes; input is written to its stdin. */
    private static final class Interactive {
        private final Process process;
        private final StringBuffer out = new StringBuffer();
        private final OutputStream in;

        Interactive(Process process) {
            this.process = process;
            this.in = process.getOutputStream();
            Thread t = new Thread(() -> {
                byte[] b = new byte[4096];
                try (InputStream from = process.getInputStream()) {
                    int n;
                    while ((n = from.read(b)) > 0) {
                        out.append(new String(b, 0, n, StandardCharsets.ISO_8859_1));
                    }
                } catch (IOException e) {
                    // the process ended
                }
            });
            t.setDaemon(true);
            t.start();
        }

        void type(String s) throws IOException {
            in.write(s.getBytes(StandardCharsets.ISO_8859_1));
            in.flush();
        }

        /** Waits until the output after {@code from} matches {@code regex}; returns the match. */
        Matcher await(int from, String regex, String errors) {
            Pattern p = Pattern.compile(regex);
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (System.nanoTime() < deadline) {
                Matcher m = p.matcher(out.substring(Math.min(from, out.length())));
                if (m.find()) {
                    return m;
                }
                if (!process.isAlive()) {
                    break;
                }
                Sls.sleep(20);
            }
            throw new AssertionError("no output matching /" + regex + "/ within " + WAIT + (process.isAlive() ? ""
                    : " (the process ended with " + process.exitValue() + ")") + "; output so far:\n" + out + "\n" + errors);
        }

        int length() { return out.length(); }

        /** Types {@code line} and waits for an answer matching {@code regex} after it. */
        Matcher ask(String line, String regex, String errors) throws IOException {
            int from = length();
            type(line);
            return await(from, regex, errors);
        }

        /** Ends its input and waits for it to exit; returns the exit code. */
        int finish() throws Exception {
            in.close();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("the process did not end after its input did");
            }
            return process.exitValue();
        }
    }

    private static long tpgid(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[5]);
    }

    private static String ttyOf(long pid, int fd) throws IOException {
        return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "fd", Integer.toString(fd))).toString();
    }

    @Test
    void aProgramInScriptComesBackOnANewTerminalWithItsJobAndDevTty(@TempDir Path tmp) throws Exception {
        Path report = tmp.resolve("ttyjob.log");
        try (Sls sls = Sls.start(tmp)) {
            assertEquals(0, sls.ctl("partadd", "-o", "t").exit());
            ProcessBuilder pb = new ProcessBuilder("script", "-qfc", "exec " + Workloads.binary("ttyjob") + " " + report,
                    "/dev/null");
            pb.environment().put("SHELL", "/bin/sh");
            Process script = pb.start();
            processes.add(script);
            Interactive term = new Interactive(script);
            long pid = Workloads.field(Workloads.awaitLine(report, l -> l.startsWith("pid="), WAIT), "pid");
            pids.add(pid);
            term.ask("set 42\n", "value set 42", "");
            term.ask("job\n", "job ready", "");
            long job = Workloads.field(Workloads.awaitLine(report, l -> l.startsWith("job="), WAIT), "job");
            pids.add(job);
            String oldTty = ttyOf(pid, 0);
            assertEquals(job, tpgid(pid), "the job is the terminal's foreground group before the checkpoint");

            assertEquals(0, sls.ctl("attach", "-p", Long.toString(pid), "-o", "t").exit(), sls.daemonLog());
            CliResult ck = sls.ctl("checkpoint", "-o", "t", "-r");
            assertEquals(0, ck.exit(), ck.all() + sls.daemonLog());
            Workloads.kill(job);
            Workloads.kill(pid);
            Workloads.awaitGone(job, WAIT);
            Workloads.awaitGone(pid, WAIT);
            assertTrue(script.waitFor(60, TimeUnit.SECONDS), "script ends once its program died");

            CliResult rest = sls.ctl("restore", "-o", "t");
            assertEquals(0, rest.exit(), rest.all() + sls.daemonLog());
            String newTty = ttyOf(pid, 0);
            assertTrue(newTty.startsWith("/dev/pts/"), newTty);
            for (int fd = 0; fd <= 2; fd++) {
                assertEquals(newTty, ttyOf(pid, fd), "fd " + fd + " of the restored program");
                assertEquals(newTty, ttyOf(job, fd), "fd " + fd + " of the restored job");
            }
            assertEquals("/dev/tty", ttyOf(pid, 3), "the /dev/tty it opened at start");
            assertEquals(job, tpgid(pid), "the job is the restored terminal's foreground group again");

            Process ctl = sls.startCtl("console", "-o", "t");
            processes.add(ctl);
            Interactive console = new Interactive(ctl);
            String errors = "console stderr: " + "\nslsd log:\n" + sls.daemonLog();
            // the job, in the foreground, reads the terminal (a background reader would be stopped by SIGTTIN)
            console.ask("hello\n", "job: hello", errors);
            // Ctrl-Z typed on the console stops the foreground job; the program takes its terminal back
            console.ask("\u001a", "job " + job + " stopped by signal 20", errors);
            Matcher tty = console.ask("tty\n", "tty ok=(\\d),(\\d) fg=(-?\\d+) pgrp=(\\d+) sid=(\\d+) pid=(\\d+)", errors);
            assertEquals("1", tty.group(1), "the /dev/tty fd opened before the checkpoint works");
            assertEquals("1", tty.group(2), "a fresh open of /dev/tty works");
            assertEquals(Long.toString(pid), tty.group(3), "tcgetpgrp(/dev/tty) is the program's group again");
            assertEquals(Long.toString(pid), tty.group(5), "it still leads its session");
            assertTrue(console.await(0, "early /dev/tty fd works", errors) != null);
            assertTrue(console.await(0, "fresh /dev/tty open works", errors) != null);
            console.ask("get\n", "value is 42", errors);
            assertEquals(0, console.finish(), "console exits once its input ends");
            assertTrue(ProcessHandleOf(pid).isAlive(), "detaching leaves the program running");
            assertTrue(!newTty.isEmpty() && !oldTty.isEmpty());

            // a user at a terminal (script gives slsctl one): raw mode, keys pass through, Ctrl-] detaches
            String cmd = sls.ctlCommand("console", "-o", "t").stream().map(a -> "'" + a + "'")
                    .collect(java.util.stream.Collectors.joining(" "));
            Process user = new ProcessBuilder("script", "-qfc", cmd, "/dev/null").start();
            processes.add(user);
            Interactive screen = new Interactive(user);
            screen.await(0, "attached to " + Pattern.quote(newTty) + " \\(pid " + pid + ", was " + Pattern.quote(oldTty)
                    + "\\); Ctrl-\\] detaches", errors);
            // raw mode: Enter arrives as a carriage return, which the program's terminal turns into a newline
            screen.ask("get\r", "value is 42", errors);
            screen.ask("\u001d", "detached from " + Pattern.quote(newTty), errors);
            assertTrue(user.waitFor(60, TimeUnit.SECONDS), "slsctl console ends on Ctrl-]");
            assertTrue(ProcessHandleOf(pid).isAlive(), "detaching leaves the program running");
            Process next = sls.startCtl("console", "-o", "t");
            processes.add(next);
            Interactive again = new Interactive(next);
            again.ask("set 43\n", "value set 43", errors); // the terminal is free again
            assertEquals(0, again.finish());
        }
    }

    private static ProcessHandle ProcessHandleOf(long pid) {
        return ProcessHandle.of(pid).orElseThrow(() -> new AssertionError("pid " + pid + " is gone"));
    }

    private static String tmux(String socket, String... args) {
        List<String> cmd = new ArrayList<>(List.of("tmux", "-L", socket, "-f", "/dev/null"));
        cmd.addAll(List.of(args));
        CliResult r = Sls.run(cmd, Duration.ofSeconds(30));
        assertEquals(0, r.exit(), "tmux " + String.join(" ", args) + ": " + r.all());
        return r.out();
    }

    private static String awaitPane(String socket, String regex) {
        Pattern p = Pattern.compile(regex);
        long deadline = System.nanoTime() + WAIT.toNanos();
        String pane = "";
        while (System.nanoTime() < deadline) {
            pane = tmux(socket, "capture-pane", "-p");
            if (p.matcher(pane).find()) {
                return pane;
            }
            Sls.sleep(50);
        }
        throw new AssertionError("the tmux pane never showed /" + regex + "/:\n" + pane);
    }

    @Test
    void aPythonReplInTmuxIsRestoredAndTypedIntoWithItsVariables(@TempDir Path tmp) throws Exception {
        String socket = "sls-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        try (Sls sls = Sls.start(tmp)) {
            assertEquals(0, sls.ctl("partadd", "-o", "repl").exit());
            tmuxSockets.add(socket);
            tmux(socket, "new-session", "-d", "-x", "120", "-y", "40", "python3 -q");
            long pid = Long.parseLong(tmux(socket, "list-panes", "-F", "#{pane_pid}").trim());
            pids.add(pid);
            awaitPane(socket, ">>>");
            tmux(socket, "send-keys", "x = 6 * 7; squares = [n * n for n in range(10)]", "Enter");
            tmux(socket, "send-keys", "print('ready', x)", "Enter");
            awaitPane(socket, "ready 42");

            assertEquals(0, sls.ctl("attach", "-p", Long.toString(pid), "-o", "repl").exit(), sls.daemonLog());
            CliResult ck = sls.ctl("checkpoint", "-o", "repl");
            assertEquals(0, ck.exit(), ck.all() + sls.daemonLog());
            Workloads.kill(pid);
            Workloads.awaitGone(pid, WAIT);

            CliResult rest = sls.ctl("restore", "-o", "repl");
            assertEquals(0, rest.exit(), rest.all() + sls.daemonLog());
            assertEquals(Long.toString(pid), rest.out().trim());

            Process ctl = sls.startCtl("console", "-o", "repl", "-p", Long.toString(pid));
            processes.add(ctl);
            Interactive console = new Interactive(ctl);
            String errors = "slsd log:\n" + sls.daemonLog();
            // readline has the terminal in raw mode: Enter is a carriage return
            console.ask("print('sum', x + 1, sum(squares))\r", "sum 43 285", errors);
            console.ask("import os; print('ids', os.getpid(), os.getsid(0) == os.getpid(), os.tcgetpgrp(0) == os.getpgrp())\r",
                    "ids " + pid + " True True", errors);
            console.ask("print('tty', os.ttyname(0) == os.ttyname(1) == os.ttyname(2), open('/dev/tty', 'w').write('via tty\\n'))\r",
                    "tty True 8", errors);
            console.await(0, "via tty", errors);

            // one console per terminal
            CliResult second = sls.ctl("console", "-o", "repl");
            assertEquals(1, second.exit(), second.all());
            assertTrue(second.err().contains("already has a console attached"), second.all());
            // the window size follows the user's (slsctl sends it on SIGWINCH through this call)
            try (SlsClient c = SlsClient.connect(sls.socket())) {
                c.windowSize("repl", (int) pid, 50, 132);
            }
            console.ask("print('size', tuple(os.get_terminal_size(0)))\r", "size \\(132, 50\\)", errors);
            assertEquals(0, console.finish(), "console exits once its input ends");

            // deleting the partition closes the terminal: the REPL gets a hangup, as when a window closes
            assertEquals(0, sls.ctl("partdel", "-o", "repl").exit(), sls.daemonLog());
            Workloads.awaitGone(pid, WAIT);
        }
    }

    @Test
    void aWholeTmuxServerWithItsPaneIsRestoredAndDrivenByTmuxAgain(@TempDir Path tmp) throws Exception {
        String socket = "sls-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        try (Sls sls = Sls.start(tmp)) {
            assertEquals(0, sls.ctl("partadd", "-o", "mux").exit());
            tmuxSockets.add(socket);
            tmux(socket, "new-session", "-d", "-x", "120", "-y", "40", "python3 -q");
            long server = Long.parseLong(tmux(socket, "display-message", "-p", "#{pid}").trim());
            long pane = Long.parseLong(tmux(socket, "list-panes", "-F", "#{pane_pid}").trim());
            pids.add(server);
            pids.add(pane);
            awaitPane(socket, ">>>");
            tmux(socket, "send-keys", "x = 6 * 7", "Enter");
            awaitPane(socket, ">>> x = 6 \\* 7\\s+>>>");

            // the server holds the pane's terminal master, the pane its slave: both ends are in the partition
            assertEquals(0, sls.ctl("attach", "-p", Long.toString(server), "-o", "mux").exit(), sls.daemonLog());
            CliResult ck = sls.ctl("checkpoint", "-o", "mux", "-r");
            assertEquals(0, ck.exit(), ck.all() + sls.daemonLog());
            Workloads.kill(pane);
            Workloads.kill(server);
            Workloads.awaitGone(pane, WAIT);
            Workloads.awaitGone(server, WAIT);

            CliResult rest = sls.ctl("restore", "-o", "mux");
            assertEquals(0, rest.exit(), rest.all() + sls.daemonLog());
            try (var fds = Files.list(Path.of("/proc", Long.toString(server), "fd"))) {
                assertTrue(fds.anyMatch(f -> {
                    try {
                        return Files.readSymbolicLink(f).toString().endsWith("ptmx");
                    } catch (IOException e) {
                        return false;
                    }
                }), "the restored server holds a terminal master");
            }
            assertTrue(ttyOf(pane, 0).startsWith("/dev/pts/"), ttyOf(pane, 0));
            // tmux's own client talks to the restored server, which drives the restored REPL on the new terminal
            tmux(socket, "send-keys", "print('restored', x + 1, __import__('os').getpid())", "Enter");
            awaitPane(socket, "restored 43 " + pane);
            CliResult console = sls.ctl("console", "-o", "mux");
            assertEquals(1, console.exit(), "slsd keeps no terminal when the partition holds its master: " + console.all());
        }
    }

    @Test
    void aRestoredBashKeepsJobControlOnItsNewTerminal(@TempDir Path tmp) throws Exception {
        String socket = "sls-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        try (Sls sls = Sls.start(tmp)) {
            assertEquals(0, sls.ctl("partadd", "-o", "sh").exit());
            tmuxSockets.add(socket);
            tmux(socket, "new-session", "-d", "-x", "120", "-y", "40", "env PS1='sh$ ' bash --norc --noprofile -i");
            long pane = Long.parseLong(tmux(socket, "list-panes", "-F", "#{pane_pid}").trim());
            pids.add(pane);
            awaitPane(socket, "sh\\$");
            tmux(socket, "send-keys", "v=remembered; cat", "Enter");
            tmux(socket, "send-keys", "before", "Enter");
            awaitPane(socket, "before\\s+before");

            assertEquals(0, sls.ctl("attach", "-p", Long.toString(pane), "-o", "sh").exit(), sls.daemonLog());
            CliResult ck = sls.ctl("checkpoint", "-o", "sh", "-r", "--json");
            assertEquals(0, ck.exit(), ck.all() + sls.daemonLog());
            List<Long> tree = new ArrayList<>();
            org.sls.libsls.protocol.Codec.MAPPER.readTree(ck.out()).get("pids").forEach(n -> tree.add(n.asLong()));
            assertTrue(tree.size() >= 2, "the shell and cat: " + tree);
            pids.addAll(tree);
            java.util.Collections.reverse(tree);
            tree.forEach(Workloads::kill);
            for (long p : tree) {
                Workloads.awaitGone(p, WAIT);
            }

            CliResult rest = sls.ctl("restore", "-o", "sh");
            assertEquals(0, rest.exit(), rest.all() + sls.daemonLog());
            Process ctl = sls.startCtl("console", "-o", "sh");
            processes.add(ctl);
            Interactive console = new Interactive(ctl);
            String errors = "slsd log:\n" + sls.daemonLog();
            console.ask("after\r", "after\\r\\nafter", errors); // cat, in the foreground, reads the terminal
            console.ask("\u001a", "Stopped\\s+cat", errors);   // Ctrl-Z stops it; bash takes the terminal back
            console.ask("echo $v; jobs\r", "remembered\\r\\n\\[1\\]\\+\\s+Stopped\\s+cat", errors);
            console.ask("fg\r", "(?s)fg\\r\\n.*cat\\r\\n", errors);      // bash names the job it resumes
            console.ask("again\r", "again\\r\\nagain", errors);
            console.ask("\u0004", "sh\\$", errors);                // end of file ends cat
            console.ask("echo done $v\r", "done remembered", errors);
            assertEquals(0, console.finish());
        }
    }
}
