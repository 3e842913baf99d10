package org.sls.slsd.linux;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A network lock, as CRIU's for a dump before migration: an nftables table of slsd's ({@code inet}
 * family) that drops every packet of some TCP connections, both ways, in the input and output hooks
 * at the raw priority (before conntrack). While it stands, the FIN or RST the kernel sends when a
 * process holding such a connection dies never leaves, and what the peer sends is lost as on a bad
 * link, so the peer's TCP retransmits and notices nothing. The table carries a comment saying
 * whose lock it is. Made, read and deleted with the {@code nft} command (package nftables); each
 * change is one nft transaction, so a lock appears or is replaced whole. Removed by hand with
 * {@code nft delete table inet NAME}. Stateless, thread-safe.
 */
public final class NetworkLock {
    /** Every lock table's name starts with this. */
    public static final String PREFIX = "sls_lock_";
    private static final Pattern COMMENT = Pattern.compile("^\\s*comment \"([^\"]*)\"", Pattern.MULTILINE);
    private static final Pattern NAME = Pattern.compile("[A-Za-z][A-Za-z0-9_.-]{0,200}");
    private static final long TIMEOUT_SECONDS = 20;

    private NetworkLock() {}

    /** One TCP connection seen from the side slsd locks: its local and its remote address. */
    public record Connection(InetSocketAddress local, InetSocketAddress remote) {
        /** "10.0.0.1:80 -> 10.0.0.2:51234". */
        @Override
        public String toString() { return show(local) + " -> " + show(remote); }
    }

    /**
     * Installs (or replaces, in one transaction) the table {@code table} dropping every packet of
     * {@code connections} both ways, with {@code comment}.
     */
    public static void install(String table, String comment, List<Connection> connections) {
        checkName(table);
        if (comment.indexOf('"') >= 0 || comment.indexOf('\n') >= 0) {
            throw new IllegalArgumentException("network lock comment must not hold quotes or newlines: " + comment);
        }
        StringBuilder in = new StringBuilder();
        StringBuilder out = new StringBuilder();
        for (Connection c : connections) {
            boolean v4 = c.local().getAddress() instanceof Inet4Address;
            if (v4 != c.remote().getAddress() instanceof Inet4Address) {
                throw new IllegalArgumentException("connection " + c + " mixes IPv4 and IPv6");
            }
            String ip = v4 ? "ip" : "ip6";
            // what the peer sends, as the partition's side receives it, and the other way
            in.append("    ").append(match(ip, c.remote(), c.local())).append(" drop\n");
            out.append("    ").append(match(ip, c.local(), c.remote())).append(" drop\n");
        }
        String rules = "table inet " + table + " { }\n"
                + "delete table inet " + table + "\n"
                + "table inet " + table + " {\n"
                + "  comment \"" + comment + "\"\n"
                + "  chain in {\n    type filter hook input priority raw; policy accept;\n" + in + "  }\n"
                + "  chain out {\n    type filter hook output priority raw; policy accept;\n" + out + "  }\n"
                + "}\n";
        Result r = nft(rules, "-f", "-");
        if (r.exit != 0) {
            throw new IllegalStateException("network lock " + table + ": nft -f: " + r.output);
        }
    }

    /** The comment of table {@code table}, or empty when there is no such table. */
    public static Optional<String> comment(String table) {
        checkName(table);
        Result r = nft(null, "list", "table", "inet", table);
        if (r.exit != 0) {
            if (r.output.contains("No such file or directory")) {
                return Optional.empty();
            }
            throw new IllegalStateException("network lock " + table + ": nft list table: " + r.output);
        }
        Matcher m = COMMENT.matcher(r.output);
        return Optional.of(m.find() ? m.group(1) : "");
    }

    /** Deletes table {@code table}; false when there was none. */
    public static boolean remove(String table) {
        checkName(table);
        Result r = nft(null, "delete", "table", "inet", table);
        if (r.exit != 0) {
            if (r.output.contains("No such file or directory")) {
                return false;
            }
            throw new IllegalStateException("network lock " + table + ": nft delete table: " + r.output);
        }
        return true;
    }

    /** The names of the inet tables that start with {@code prefix}. */
    public static List<String> tables(String prefix) {
        Result r = nft(null, "list", "tables", "inet");
        if (r.exit != 0) {
            throw new IllegalStateException("network locks: nft list tables: " + r.output);
        }
        List<String> out = new ArrayList<>();
        for (String line : r.output.split("\n")) {
            String[] w = line.trim().split("\\s+");
            if (w.length == 3 && w[0].equals("table") && w[1].equals("inet") && w[2].startsWith(prefix)) {
                out.add(w[2]);
            }
        }
        return out;
    }

    /** Why no lock can be made here (nft missing or not working), or empty when it can. */
    public static Optional<String> unavailable() {
        try {
            Result r = nft(null, "list", "tables", "inet");
            return r.exit == 0 ? Optional.empty() : Optional.of("nft list tables: " + r.output);
        } catch (IllegalStateException e) {
            return Optional.of(e.getMessage());
        }
    }

    private static String match(String ip, InetSocketAddress from, InetSocketAddress to) {
        return ip + " saddr " + host(from) + " " + ip + " daddr " + host(to) + " tcp sport " + from.getPort()
                + " tcp dport " + to.getPort();
    }

    private static String host(InetSocketAddress a) {
        String h = a.getAddress().getHostAddress();
        int scope = h.indexOf('%'); // a link-local scope: the address alone identifies the packets
        return scope < 0 ? h : h.substring(0, scope);
    }

    private static String show(InetSocketAddress a) {
        String h = host(a);
        return (h.contains(":") ? "[" + h + "]" : h) + ":" + a.getPort();
    }

    private static void checkName(String table) {
        if (!NAME.matcher(table).matches()) {
            throw new IllegalArgumentException("invalid nftables table name: " + table);
        }
    }

    private record Result(int exit, String output) {}

    /** Runs nft (a short-lived child the JDK waits for by its pid; never traced). */
    private static Result nft(String stdin, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add("nft");
        cmd.addAll(List.of(args));
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot run nft (install nftables): " + e.getMessage(), e);
        }
        try {
            try (OutputStream o = p.getOutputStream()) {
                if (stdin != null) {
                    o.write(stdin.getBytes(StandardCharsets.UTF_8));
                }
            }
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("nft " + String.join(" ", args) + ": no answer in " + TIMEOUT_SECONDS + " s");
            }
            return new Result(p.exitValue(), output);
        } catch (IOException e) {
            p.destroyForcibly();
            throw new IllegalStateException("nft " + String.join(" ", args) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("nft " + String.join(" ", args) + ": interrupted", e);
        }
    }
}
