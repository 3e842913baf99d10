package org.sls.slsctl;

import org.sls.libsls.Console;
import org.sls.libsls.SlsClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code slsctl console}: attaches the user's terminal to the terminal slsd keeps for restored
 * processes. On a terminal: raw mode, Ctrl-] detaches, window size follows the user's; otherwise
 * (pipes, tests) plain byte streaming until standard input ends. Not thread-safe (one use).
 */
@Command(name = "console", mixinStandardHelpOptions = true,
        description = "Attach to the terminal of restored processes. Processes checkpointed on a pseudo-terminal (in tmux, "
                + "script, an ssh session) come back on a new terminal that slsd keeps; this connects your terminal to it: "
                + "what you type goes to the programs, what they write comes back. Ctrl-] detaches (the programs keep running); "
                + "when standard input is not a terminal, bytes are copied as they are until it ends.")
final class ConsoleCommand implements Callable<Integer> {
    /** Ctrl-], as telnet. */
    static final int DETACH_KEY = 0x1d;

    @Mixin
    ClientOptions client;
    @Option(names = "-o", paramLabel = "NAME", defaultValue = "default", description = "Partition (default: 'default').")
    String name;
    @Option(names = "-p", paramLabel = "PID", defaultValue = "0",
            description = "A restored process holding the terminal (needed when the partition has several).")
    int pid;

    @Override
    public Integer call() throws Exception {
        boolean tty = System.console() != null;
        int[] size = tty ? windowSize() : null;
        try (SlsClient c = client.connect()) {
            Console con = c.console(name, pid, size == null ? 0 : size[0], size == null ? 0 : size[1]);
            String saved = null;
            try {
                if (tty) {
                    System.err.print("slsctl: attached to " + con.tty() + " (pid " + con.pid() + ", was " + con.checkpointedTty()
                            + "); Ctrl-] detaches\r\n");
                    saved = stty("-g").trim();
                    stty("raw", "-echo");
                    followWindowSize();
                }
                return run(con, tty);
            } finally {
                con.close();
                if (saved != null) {
                    stty(saved);
                    System.err.println("\r\nslsctl: detached from " + con.tty());
                }
            }
        }
    }

    /** Copies both ways until slsd ends the console, standard input ends, or the detach key is typed. */
    private static int run(Console con, boolean tty) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        Thread out = new Thread(() -> {
            byte[] buf = new byte[8192];
            try (InputStream from = con.output()) {
                int n;
                while ((n = from.read(buf)) > 0) {
                    System.out.write(buf, 0, n);
                    System.out.flush();
                }
            } catch (IOException e) {
                // detached, or slsd ended the console
            } finally {
                done.countDown();
            }
        }, "console-output");
        Thread in = new Thread(() -> {
            byte[] buf = new byte[4096];
            try {
                OutputStream to = con.input();
                int n;
                while ((n = System.in.read(buf)) > 0) {
                    int detach = -1;
                    for (int i = 0; tty && i < n; i++) {
                        if (buf[i] == DETACH_KEY) {
                            detach = i;
                            break;
                        }
                    }
                    to.write(buf, 0, detach < 0 ? n : detach);
                    to.flush();
                    if (detach >= 0) {
                        done.countDown();
                        return;
                    }
                }
                con.endInput(); // slsd ends the console in turn
            } catch (IOException e) {
                done.countDown();
            }
        }, "console-input");
        out.setDaemon(true);
        in.setDaemon(true);
        out.start();
        in.start();
        done.await();
        return ExitCode.OK;
    }

    /** Tells slsd the new window size whenever the user's terminal changes size (SIGWINCH). */
    private void followWindowSize() {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("WINCH"), sig -> {
                try (SlsClient c = client.connect()) {
                    int[] s = windowSize();
                    if (s != null) {
                        c.windowSize(name, pid, s[0], s[1]);
                    }
                } catch (RuntimeException e) {
                    // the console goes on at the old size
                }
            });
        } catch (IllegalArgumentException e) {
            // no SIGWINCH here: the size stays as it was at attach
        }
    }

    /** {rows, columns} of the user's terminal, or null when stty cannot tell. */
    private static int[] windowSize() {
        try {
            String[] f = stty("size").trim().split("\\s+");
            return f.length == 2 ? new int[] {Integer.parseInt(f[0]), Integer.parseInt(f[1])} : null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Runs stty on the user's terminal and returns what it printed. */
    private static String stty(String... args) throws IOException {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "stty";
        System.arraycopy(args, 0, cmd, 1, args.length);
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/tty")))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        p.getInputStream().transferTo(out);
        try {
            if (p.waitFor() != 0) {
                throw new IOException("stty " + String.join(" ", args) + " failed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
