package org.sls.slsctl;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * A table printed like {@code zfs list}: aligned columns under a header, or with {@code -H} no
 * header and one tab between fields. Not thread-safe.
 */
final class Table {
    private final List<String> header;
    private final List<List<String>> rows = new ArrayList<>();

    Table(String... header) {
        this.header = List.of(header);
    }

    void add(Object... cells) {
        List<String> row = new ArrayList<>();
        for (Object c : cells) {
            row.add(String.valueOf(c));
        }
        rows.add(row);
    }

    void print(PrintStream out, boolean scripted) {
        if (scripted) {
            for (List<String> row : rows) {
                out.println(String.join("\t", row));
            }
            return;
        }
        int[] width = new int[header.size()];
        for (int i = 0; i < width.length; i++) {
            width[i] = header.get(i).length();
            for (List<String> row : rows) {
                width[i] = Math.max(width[i], row.get(i).length());
            }
        }
        printRow(out, header, width);
        for (List<String> row : rows) {
            printRow(out, row, width);
        }
    }

    private static void printRow(PrintStream out, List<String> row, int[] width) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < row.size(); i++) {
            String cell = row.get(i);
            sb.append(cell);
            if (i < row.size() - 1) {
                sb.append(" ".repeat(width[i] - cell.length() + 2));
            }
        }
        out.println(sb.toString().stripTrailing());
    }

    /** 1536 → "1.5K"; exact when asked. */
    static String bytes(long n, boolean exact) {
        if (exact || n < 1024) {
            return Long.toString(n);
        }
        String units = "KMGTPE";
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length() - 1) {
            v /= 1024;
            u++;
        }
        return (v >= 100 ? String.format("%.0f", v) : String.format("%.1f", v)) + units.charAt(u);
    }

    /** Microseconds for people: "850us", "12.3ms", "1.20s"; exact when asked. */
    static String micros(long us, boolean exact) {
        if (exact) {
            return Long.toString(us);
        }
        if (us < 1000) {
            return us + "us";
        }
        if (us < 1_000_000) {
            return String.format("%.1fms", us / 1000.0);
        }
        return String.format("%.2fs", us / 1_000_000.0);
    }
}
