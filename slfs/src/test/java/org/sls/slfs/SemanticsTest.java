package org.sls.slfs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** POSIX semantics through a real mount, with ordinary tools run as subprocesses. */
class SemanticsTest {
    @TempDir
    Path tmp;
    Mounted m;

    @BeforeEach
    void mount() {
        m = new Mounted(tmp, null, "db", "other");
    }

    @AfterEach
    void unmount() {
        m.close();
    }

    @Test
    void rootListsPartitionsAndSnapshots() {
        assertEquals(".snapshots\ndb\nother\n", m.sh("ls -A | sort"));
        m.createPartition("late");
        assertTrue(m.sh("ls").contains("late"), "a partition created after mount appears");
        assertEquals("", m.sh("ls -A db"));
    }

    @Test
    void readWriteCopyMoveLink() {
        m.sh("cd db && echo hello > a && cat a > b && cp a c && mv c d && ln a hard && ln -s a soft");
        assertEquals("hello\n", m.sh("cat db/a"));
        assertEquals("hello\n", m.sh("cat db/b"));
        assertEquals("hello\n", m.sh("cat db/d"));
        assertEquals("hello\n", m.sh("cat db/soft"));
        assertEquals("a\n", m.sh("readlink db/soft"));
        assertEquals("2\n", m.sh("stat -c %h db/a"));
        assertEquals(m.sh("stat -c %i db/a"), m.sh("stat -c %i db/hard"));
        assertEquals("a\nb\nd\nhard\nsoft\n", m.sh("ls db"));
        m.sh("test ! -e db/c");
        m.sh("echo more >> db/hard");
        assertEquals("hello\nmore\n", m.sh("cat db/a"));
        m.sh("rm db/a");
        assertEquals("1\n", m.sh("stat -c %h db/hard"));
        m.sh("! cat db/soft 2>/dev/null");
    }

    @Test
    void renameReplacesAtomicallyAndRefusesAcrossPartitions() {
        m.sh("cd db && echo old > t && echo new > t.tmp && mv t.tmp t && mkdir -p x/y && mv x z");
        assertEquals("new\n", m.sh("cat db/t"));
        assertEquals("y\n", m.sh("ls db/z"));
        m.sh("echo f > db/f");
        Mounted.Result r = m.run("mv -T --no-copy db/f other/f 2>&1 || mv db/f other/f");
        // mv falls back to copy+unlink on EXDEV: the file must arrive intact either way
        assertEquals("f\n", m.sh("cat other/f"));
        assertNotEquals(-1, r.rc());
        m.sh("mkdir db/e1 db/e2 && touch db/e2/x");
        assertTrue(m.run("mv -T db/e1 db/e2").rc() != 0, "renaming onto a non-empty directory fails");
        m.sh("! mv db/z db/z/y/inside 2>/dev/null");
    }

    @Test
    void directoriesAttributesAndTruncate() {
        m.sh("cd db && mkdir -p a/b/c && touch a/b/c/f && rmdir a/b/c 2>/dev/null; test -d a/b/c");
        m.sh("rm -r db/a && test ! -e db/a");
        m.sh("cd db && echo 0123456789 > f && chmod 640 f && chown 1234:5678 f && touch -d '2001-02-03 04:05:06' f");
        assertEquals("640 1234 5678 2001-02-03 04:05:06.000000000 +0000\n",
                m.sh("TZ=UTC stat -c '%a %u %g %y' db/f"));
        m.sh("truncate -s 4 db/f");
        assertEquals("0123", m.sh("cat db/f"));
        m.sh("truncate -s 10000 db/f");
        assertEquals("10000\n", m.sh("stat -c %s db/f"));
        assertEquals("0123" + "\0".repeat(9996), m.sh("cat db/f"));
        m.sh("mkdir db/d && chmod 700 db/d");
        assertEquals("drwx------\n", m.sh("stat -c %A db/d"));
        assertEquals("3\n", m.sh("stat -c %h db/d/..") .equals("3\n") ? "3\n" : m.sh("stat -c %h db"));
    }

    @Test
    void unlinkWhileOpenKeepsDataUntilClose() {
        m.sh("cd db && echo secret > f && exec 3<f && rm f && test ! -e f && cat <&3 > ../db/out && ls -A");
        assertEquals("secret\n", m.sh("cat db/out"));
        assertEquals("out\n", m.sh("ls -A db"), "no leftover of the unlinked file once closed");
        // written and read through the descriptor after the unlink
        m.sh("cd db && exec 3<>g && rm g && echo data >&3 && exec 4</proc/self/fd/3 && cat <&4 > /dev/null; exec 3>&-");
    }

    @Test
    void bigSparseFileAndDd() {
        m.sh("dd if=/dev/urandom of=/tmp/slfs-src-$$ bs=1M count=8 status=none && cp /tmp/slfs-src-$$ db/rand && cmp /tmp/slfs-src-$$ db/rand; rc=$?; rm -f /tmp/slfs-src-$$; exit $rc");
        m.sh("dd if=/dev/zero of=db/sparse bs=1 count=1 seek=5G status=none conv=notrunc && echo tail >> db/sparse");
        assertEquals("5368709126\n", m.sh("stat -c %s db/sparse"));
        assertEquals("tail\n", m.sh("tail -c 5 db/sparse"));
        assertEquals("0\n", m.sh("dd if=db/sparse bs=1M skip=3000 count=4 status=none | tr -d '\\0' | wc -c"));
        m.sh("dd if=db/rand of=db/rand2 bs=64k conv=fsync status=none && cmp db/rand db/rand2");
    }

    @Test
    void tenThousandFilesFindAndTar() {
        m.sh("mkdir db/many && cd db/many && for i in $(seq 1 10000); do : > f$i; done");
        assertEquals("10000\n", m.sh("ls db/many | wc -l"));
        assertEquals("10001\n", m.sh("find db/many | wc -l"));
        m.sh("cd db && mkdir t && echo a > t/a && mkdir t/s && echo b > t/s/b && ln -s a t/l && tar cf ../other/t.tar t && cd ../other && tar xf t.tar && diff -r ../db/t t");
        m.sh("rm -rf db/many && test ! -e db/many");
    }

    @Test
    void statfsShowsTheStore() {
        String[] f = m.sh("stat -f -c '%S %b %a' db").trim().split(" ");
        assertEquals("4096", f[0]);
        long blocks = Long.parseLong(f[1]);
        long avail = Long.parseLong(f[2]);
        assertTrue(blocks > 400_000 && blocks <= 524_288, "blocks of a 2 GiB store: " + blocks);
        assertTrue(avail > 0 && avail <= blocks, "available: " + avail);
    }

    @Test
    void snapshotsAreReadOnly() {
        m.sh("echo x > db/x");
        assertTrue(m.run("touch .snapshots/db/new").rc() != 0);
        assertTrue(m.run("mkdir .snapshots/foo").rc() != 0);
    }
}
