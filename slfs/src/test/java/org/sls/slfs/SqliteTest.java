package org.sls.slfs;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.slos.EpochWriter;

/** sqlite3 (the Debian binary) on slfs: create, fill, query, integrity; checkpoint and rollback; restart. */
class SqliteTest {
    @TempDir
    Path tmp;
    Mounted m;

    @BeforeEach
    void mount() {
        m = new Mounted(tmp, null, "db");
    }

    @AfterEach
    void unmount() {
        m.close();
    }

    private String sql(String s) {
        return m.sh("sqlite3 db/test.db \"" + s + "\"");
    }

    /** Inserts rows k = from..to-1, 500 per transaction (each commit fsyncs the WAL). */
    private void fill(int from, int to) {
        StringBuilder b = new StringBuilder();
        for (int i = from; i < to; i += 500) {
            int end = Math.min(to, i + 500) - 1;
            b.append("BEGIN; INSERT INTO t(k, v) WITH RECURSIVE c(x) AS (SELECT ").append(i)
                    .append(" UNION ALL SELECT x + 1 FROM c WHERE x < ").append(end)
                    .append(") SELECT x, hex(randomblob(200)) FROM c; COMMIT;");
        }
        sql(b.toString());
    }

    @Test
    void databaseWorksRollsBackAndSurvivesRestart() {
        sql("PRAGMA journal_mode=WAL; CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT); CREATE INDEX tv ON t(v);");
        fill(0, 3000);
        assertEquals("3000\n", sql("SELECT count(*) FROM t;"));
        assertEquals("ok\n", sql("PRAGMA integrity_check;"));

        FsSnapshot s = m.slfs.snapshot("db");
        long e;
        try (EpochWriter w = m.store.beginEpoch("db", 0)) {
            s.writeTo(w);
            e = w.commit().epoch();
        }
        fill(3000, 5000);
        sql("DELETE FROM t WHERE k < 1000; VACUUM;");
        assertEquals("4000\n", sql("SELECT count(*) FROM t;"));

        m.slfs.rollback("db", e);
        assertEquals("ok\n", sql("PRAGMA integrity_check;"));
        assertEquals("3000|0|2999\n", sql("SELECT count(*), min(k), max(k) FROM t;"));

        fill(3000, 3500);
        m.restart();
        assertEquals("ok\n", sql("PRAGMA integrity_check;"));
        assertEquals("3500\n", sql("SELECT count(*) FROM t;"), "committed sqlite transactions were fsynced");
        assertEquals("ok\n", new String(m.sh("sqlite3 db/test.db 'PRAGMA quick_check;'").getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8));
    }
}
