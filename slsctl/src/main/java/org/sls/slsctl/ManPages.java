package org.sls.slsctl;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.Map;

/**
 * Build-time tool: writes a roff man page (section 1) for each picocli command class given, and
 * for each of its subcommands ({@code slsctl-partadd.1}, ...), from the same annotations that
 * drive {@code --help}. Usage: {@code ManPages OUTDIR CLASS...}. Not used at run time.
 */
public final class ManPages {
    private ManPages() {
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]);
        Files.createDirectories(out);
        for (int i = 1; i < args.length; i++) {
            Object root = Class.forName(args[i]).getDeclaredConstructor().newInstance();
            write(out, new CommandLine(root), null);
        }
    }

    private static void write(Path dir, CommandLine cl, String parent) throws IOException {
        CommandSpec spec = cl.getCommandSpec();
        String name = parent == null ? spec.name() : parent + "-" + spec.name();
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(dir.resolve(name + ".1"), StandardCharsets.UTF_8))) {
            w.printf(".TH %s 1 \"%s\" \"sls\" \"sls manual\"%n", name.toUpperCase(), LocalDate.now());
            w.println(".SH NAME");
            w.println(esc(name) + " \\- " + esc(String.join(" ", spec.usageMessage().description())));
            w.println(".SH SYNOPSIS");
            w.println(esc(cl.getHelp().synopsis(0).replaceFirst("^Usage:\\s*", "").replaceAll("\\s+", " ").strip()));
            w.println(".SH DESCRIPTION");
            w.println(esc(String.join(" ", spec.usageMessage().description())));
            if (!spec.options().isEmpty()) {
                w.println(".SH OPTIONS");
                for (OptionSpec o : spec.options()) {
                    w.println(".TP");
                    w.println(".B " + esc(String.join(", ", o.names())) + (o.typedValues().isEmpty() && o.arity().max() > 0 ? " " + esc(o.paramLabel()) : o.arity().max() > 0 ? " " + esc(o.paramLabel()) : ""));
                    w.println(esc(String.join(" ", o.description()).replace("${DEFAULT-VALUE}", String.valueOf(o.defaultValue()))));
                }
            }
            for (PositionalParamSpec p : spec.positionalParameters()) {
                w.println(".TP");
                w.println(".B " + esc(p.paramLabel()));
                w.println(esc(String.join(" ", p.description())));
            }
            Map<String, String> codes = spec.usageMessage().exitCodeList();
            if (!codes.isEmpty()) {
                w.println(".SH EXIT STATUS");
                codes.forEach((k, v) -> {
                    w.println(".TP");
                    w.println(".B " + esc(k.strip()));
                    w.println(esc(v));
                });
            }
            Map<String, CommandLine> subs = spec.subcommands();
            if (!subs.isEmpty()) {
                w.println(".SH COMMANDS");
                subs.forEach((n, sub) -> {
                    if (!n.equals(sub.getCommandName()) || n.equals("help")) {
                        return; // aliases and help have no page of their own
                    }
                    w.println(".TP");
                    w.println(".BR " + esc(name + "-" + n) + " (1)");
                    w.println(esc(String.join(" ", sub.getCommandSpec().usageMessage().description())));
                });
            }
        }
        for (Map.Entry<String, CommandLine> e : spec.subcommands().entrySet()) {
            if (e.getKey().equals(e.getValue().getCommandName()) && !e.getKey().equals("help")) {
                write(dir, e.getValue(), name);
            }
        }
    }

    private static String esc(String s) {
        String t = s.replace("\\", "\\\\").replace("-", "\\-");
        return t.startsWith(".") || t.startsWith("'") ? "\\&" + t : t;
    }
}
