package org.sls.slsd.snapshot;

import org.sls.slos.ObjectReader;
import org.sls.slsd.checkpoint.manifest.ProcessImage;
import org.sls.slsd.checkpoint.manifest.RegionImage;
import org.sls.slsd.checkpoint.manifest.ThreadImage;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Writes an ELF core file of one checkpointed process, as the kernel would have dumped it at
 * that epoch, so that {@code gdb EXE -c core} shows its threads' registers and backtraces: notes
 * (NT_PRSTATUS per thread, the main thread first; NT_PRPSINFO; NT_AUXV; NT_FILE, which lets gdb
 * find the shared libraries) and one PT_LOAD per memory region. Writable and anonymous memory
 * comes from the store; pages of file mappings that were never saved come from the file. Code
 * mappings of files are left out of the core (gdb reads them from the files), as the kernel's
 * default coredump filter does. Stateless; thread-safe.
 */
public final class CoreDump {
    private static final int PAGE = 4096;
    private static final int EHDR = 64;
    private static final int PHDR = 56;
    private static final int PT_LOAD = 1;
    private static final int PT_NOTE = 4;
    private static final int NT_PRSTATUS = 1;
    private static final int NT_PRPSINFO = 3;
    private static final int NT_AUXV = 6;
    private static final int NT_FILE = 0x46494c45;
    private static final int PRSTATUS_SIZE = 336;
    private static final int PRSTATUS_REGS = 112;
    private static final int PRPSINFO_SIZE = 136;

    private CoreDump() {
    }

    /** The whole core file in memory (for slfs's snapshot view and {@code slsctl core}). */
    public static byte[] render(ProcessImage p, ObjectReader memory) {
        List<RegionImage> regions = new ArrayList<>();
        for (RegionImage r : p.regions()) {
            if (r.kind() != RegionImage.Kind.VVAR && r.kind() != RegionImage.Kind.VVAR_VCLOCK && r.kind() != RegionImage.Kind.VSYSCALL) {
                regions.add(r);
            }
        }
        byte[] notes = notes(p);
        int phnum = 1 + regions.size();
        long offset = align(EHDR + (long) PHDR * phnum + notes.length, PAGE);
        ByteBuffer head = le(EHDR + PHDR * phnum);
        head.put(new byte[]{0x7f, 'E', 'L', 'F', 2, 1, 1, 0}).put(new byte[8]);
        head.putShort((short) 4).putShort((short) 62).putInt(1).putLong(0).putLong(EHDR).putLong(0).putInt(0)
                .putShort((short) EHDR).putShort((short) PHDR).putShort((short) phnum).putShort((short) 0)
                .putShort((short) 0).putShort((short) 0);
        head.putInt(PT_NOTE).putInt(0).putLong(EHDR + (long) PHDR * phnum).putLong(0).putLong(0)
                .putLong(notes.length).putLong(0).putLong(4);
        List<Long> sizes = new ArrayList<>();
        for (RegionImage r : regions) {
            long filesz = dumped(r) ? r.length() : 0;
            sizes.add(filesz);
            head.putInt(PT_LOAD).putInt(flags(r.prot())).putLong(offset).putLong(r.start()).putLong(0)
                    .putLong(filesz).putLong(r.length()).putLong(PAGE);
            offset += filesz;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(head.array());
        out.writeBytes(notes);
        out.writeBytes(new byte[(int) (align(out.size(), PAGE) - out.size())]);
        ByteBuffer page = ByteBuffer.allocate(PAGE);
        for (int i = 0; i < regions.size(); i++) {
            if (sizes.get(i) == 0) {
                continue;
            }
            RegionImage r = regions.get(i);
            for (long a = r.start(); a < r.end(); a += PAGE) {
                page.clear();
                boolean stored = r.objectId() > 0 && memory.readPage(r.objectId(), r.pageIndex(a), page);
                if (!stored) {
                    java.util.Arrays.fill(page.array(), (byte) 0);
                    if (r.path() != null && (r.kind() == RegionImage.Kind.FILE_PRIVATE || r.kind() == RegionImage.Kind.FILE_SHARED)) {
                        readFile(r.path(), r.offset() + (a - r.start()), page.array());
                    }
                }
                out.writeBytes(page.array());
            }
        }
        return out.toByteArray();
    }

    /** Whether a region's content goes into the core: all but read-only/executable file mappings and the vdso. */
    private static boolean dumped(RegionImage r) {
        if (r.kind() == RegionImage.Kind.VDSO) {
            return false;
        }
        boolean file = r.kind() == RegionImage.Kind.FILE_PRIVATE || r.kind() == RegionImage.Kind.FILE_SHARED;
        return !file || r.prot().contains("w") || r.pagesSaved() > 0 && !r.prot().contains("x");
    }

    private static byte[] notes(ProcessImage p) {
        ByteArrayOutputStream n = new ByteArrayOutputStream();
        List<ThreadImage> threads = new ArrayList<>(p.threads());
        threads.sort((a, b) -> a.tid() == p.pid() ? -1 : b.tid() == p.pid() ? 1 : Integer.compare(a.tid(), b.tid()));
        note(n, "CORE", NT_PRSTATUS, prstatus(p, threads.get(0)));
        note(n, "CORE", NT_PRPSINFO, prpsinfo(p));
        if (p.auxv() != null && !p.auxv().isEmpty()) {
            note(n, "CORE", NT_AUXV, Base64.getDecoder().decode(p.auxv()));
        }
        note(n, "CORE", NT_FILE, fileNote(p));
        for (int i = 1; i < threads.size(); i++) {
            note(n, "CORE", NT_PRSTATUS, prstatus(p, threads.get(i)));
        }
        return n.toByteArray();
    }

    private static byte[] prstatus(ProcessImage p, ThreadImage t) {
        ByteBuffer b = le(PRSTATUS_SIZE);
        b.putLong(24, t.sigmask());
        b.putInt(32, t.tid()).putInt(36, p.ppid()).putInt(40, p.pgid()).putInt(44, p.sid());
        b.position(PRSTATUS_REGS);
        b.put(t.rawRegs());
        b.putInt(328, 1);
        return b.array();
    }

    private static byte[] prpsinfo(ProcessImage p) {
        ByteBuffer b = le(PRPSINFO_SIZE);
        String state = p.state() == null || p.state().isEmpty() ? "R" : p.state().substring(0, 1);
        b.put(0, (byte) "RSDTZW".indexOf(state.charAt(0))).put(1, (byte) state.charAt(0));
        if (p.credentials() != null && !p.credentials().uids().isEmpty()) {
            b.putInt(16, p.credentials().uids().get(0)).putInt(20, p.credentials().gids().get(0));
        }
        b.putInt(24, p.pid()).putInt(28, p.ppid()).putInt(32, p.pgid()).putInt(36, p.sid());
        byte[] comm = (p.comm() == null ? "" : p.comm()).getBytes(StandardCharsets.UTF_8);
        b.position(40);
        b.put(comm, 0, Math.min(15, comm.length));
        byte[] args = (p.exe() == null ? "" : p.exe()).getBytes(StandardCharsets.UTF_8);
        b.position(56);
        b.put(args, 0, Math.min(79, args.length));
        return b.array();
    }

    private static byte[] fileNote(ProcessImage p) {
        List<RegionImage> files = p.regions().stream().filter(r -> r.path() != null && r.path().startsWith("/")
                && (r.kind() == RegionImage.Kind.FILE_PRIVATE || r.kind() == RegionImage.Kind.FILE_SHARED)).toList();
        ByteArrayOutputStream names = new ByteArrayOutputStream();
        ByteBuffer b = le(16 + 24 * files.size());
        b.putLong(files.size()).putLong(PAGE);
        for (RegionImage r : files) {
            b.putLong(r.start()).putLong(r.end()).putLong(r.offset() / PAGE);
            names.writeBytes(r.path().getBytes(StandardCharsets.UTF_8));
            names.write(0);
        }
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        all.writeBytes(b.array());
        all.writeBytes(names.toByteArray());
        return all.toByteArray();
    }

    private static void note(ByteArrayOutputStream out, String name, int type, byte[] desc) {
        byte[] nm = (name + "\0").getBytes(StandardCharsets.US_ASCII);
        ByteBuffer h = le(12);
        h.putInt(nm.length).putInt(desc.length).putInt(type);
        out.writeBytes(h.array());
        out.writeBytes(nm);
        out.writeBytes(new byte[(int) (align(nm.length, 4) - nm.length)]);
        out.writeBytes(desc);
        out.writeBytes(new byte[(int) (align(desc.length, 4) - desc.length)]);
    }

    private static void readFile(String path, long offset, byte[] dst) {
        try (RandomAccessFile f = new RandomAccessFile(path, "r")) {
            if (offset < f.length()) {
                f.seek(offset);
                f.read(dst, 0, (int) Math.min(dst.length, f.length() - offset));
            }
        } catch (IOException gone) {
            // the file changed or vanished since the checkpoint: zeros, as for a page never saved
        }
    }

    private static int flags(String prot) {
        return (prot.contains("r") ? 4 : 0) | (prot.contains("w") ? 2 : 0) | (prot.contains("x") ? 1 : 0);
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static long align(long v, long a) {
        return (v + a - 1) / a * a;
    }
}
