package org.sls.slsd.linux;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class LinuxLayerTest {
    @TempDir
    Path tmp;
    TestPrograms programs;

    @BeforeEach
    void setUp() {
        programs = new TestPrograms(tmp);
    }

    @AfterEach
    void tearDown() {
        programs.close();
    }

    @Test
    void probeDescribesTheKernel() {
        KernelFeatures f = KernelFeatures.probe();
        assertTrue(f.ptrace(), f.describe());
        assertTrue(f.pagemapScan(), f.describe());
        assertTrue(f.uffdWpAsync(), f.describe());
        assertTrue(f.describe().contains("userfaultfd WP async"));
    }

    /** The raw stat of a process's fds gives what java.nio's does: a file, a pipe, a socket, an anon inode. */
    @Test
    void fdStatAgreesWithJavaNio() throws Exception {
        int self = Linux.getpid();
        Path f = tmp.resolve("stat-me");
        java.nio.file.Files.writeString(f, "x");
        try (java.nio.channels.FileChannel file = java.nio.channels.FileChannel.open(f);
             java.nio.channels.Pipe.SourceChannel pipe = java.nio.channels.Pipe.open().source();
             java.nio.channels.SocketChannel socket = java.nio.channels.SocketChannel.open()) {
            int checked = 0;
            try (var fds = java.nio.file.Files.list(Path.of("/proc/self/fd"))) {
                for (Path fd : fds.toList()) {
                    Map<String, Object> a;
                    try {
                        a = java.nio.file.Files.readAttributes(fd, "unix:mode,dev,ino");
                    } catch (java.io.IOException e) {
                        continue; // the listing's own fd, closed since
                    }
                    long[] st = ProcFs.fdStat(self, Integer.parseInt(fd.getFileName().toString()));
                    assertNotNull(st, fd.toString());
                    assertEquals(((Integer) a.get("mode")).longValue(), st[0], fd + " mode");
                    assertEquals(a.get("dev"), st[1], fd + " dev");
                    assertEquals(a.get("ino"), st[2], fd + " ino");
                    checked++;
                }
            }
            assertTrue(checked >= 4, "fds checked: " + checked);
        }
        assertNull(ProcFs.fdStat(self, 0x3ffffff0), "no such fd");
    }

    /**
     * Pooled iovec arrays come back empty, and one closed twice is pooled once: two captures must
     * never be handed the same array. A copy through a reused array reads what it should.
     */
    @Test
    void pooledIoVecsAreReusedEmptyAndNeverTwice() {
        ByteBuffer src = ByteBuffer.allocateDirect(8192);
        ByteBuffer dst = ByteBuffer.allocateDirect(8192);
        for (int i = 0; i < 8192; i++) {
            src.put(i, (byte) (i * 31));
        }
        long srcAddr = Sys.address(src);
        long dstAddr = Sys.address(dst);
        IoVecs a = IoVecs.pooled();
        a.add(dstAddr, 4096);
        a.close();
        a.close(); // a second close must not pool it again
        IoVecs local = IoVecs.pooled();
        IoVecs remote = IoVecs.pooled();
        assertNotSame(local, remote, "one array handed out twice");
        assertEquals(0, local.count(), "a pooled array comes back empty");
        assertEquals(0, local.bytes());
        local.add(dstAddr, 8192);
        remote.add(srcAddr, 8192);
        assertEquals(8192, Linux.processVmReadv(Linux.getpid(), local, remote));
        for (int i = 0; i < 8192; i++) {
            assertEquals(src.get(i), dst.get(i), "byte " + i);
        }
        local.close();
        remote.close();
    }

    @Test
    void errorsNameTheCallArgumentAndErrno() {
        NativeException e = assertThrows(NativeException.class, () -> Ptrace.seize(0x3ffffff0, 0));
        assertEquals("ptrace(PTRACE_SEIZE, " + 0x3ffffff0 + "): ESRCH (No such process)", e.getMessage());
        assertEquals(Errno.ESRCH, e.errno());
    }

    @Test
    void seizeInterruptInjectAndResumeKeepsTheProgramWorking() throws Exception {
        Path out = tmp.resolve("sleeper.out");
        int pid = programs.start("sleeper", List.of(out.toString()), -1);
        TestPrograms.awaitLine(out, "ready"::equals, Duration.ofSeconds(10));
        Thread.sleep(50);
        String statusBefore = sigState(pid);
        Ptrace.seize(pid, LinuxSyscalls.PTRACE_O_TRACESYSGOOD);
        Ptrace.interrupt(pid);
        WaitStatus st = Ptrace.wait(pid);
        assertTrue(st.eventStop(), st.toString());
        Regs regs = Ptrace.getRegs(pid);
        assertEquals(34, regs.origRax(), "stopped in pause()");
        assertEquals(-Errno.ERESTARTNOHAND, regs.rax());
        byte[] xs = Ptrace.getXState(pid);
        assertTrue(xs.length >= 512, "xstate " + xs.length);
        long mask = Ptrace.getSigmask(pid);
        long gadget = SyscallInjector.findGadget(pid, ProcFs.maps(pid));
        try (SyscallInjector inj = SyscallInjector.begin(pid, pid, gadget)) {
            assertEquals(pid, inj.call(LinuxSyscalls.SYS_GETPID));
            List<Vma> vmas = ProcFs.maps(pid);
            long scratch = inj.scratch(32, vmas);
            assertEquals(0, inj.call(LinuxSyscalls.SYS_RT_SIGACTION, 10, 0, scratch, 8));
            ByteBuffer b = ByteBuffer.wrap(inj.readScratch(32)).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            assertNotEquals(0, b.getLong(0), "SIGUSR1 has a handler");
        }
        assertEquals(regs, Ptrace.getRegs(pid));
        assertEquals(mask, Ptrace.getSigmask(pid));
        assertTrue(Ptrace.detach(pid, 0));
        assertEquals(0, ProcFs.tracerPid(pid));
        assertEquals(statusBefore, sigState(pid));
        // still in pause(), still handles its signal
        Linux.kill(pid, 10);
        TestPrograms.awaitLine(out, "usr1=1"::equals, Duration.ofSeconds(10));
    }

    /**
     * A process of someone else's that dies while slsd traces it is reported to slsd first, and its
     * parent can reap it only once a thread of slsd has waited for it. When none did, the reaper
     * takes that death, and the zombie is its parent's again: a sleep whose parent, a python3, never
     * waits, is seized, killed and not waited for here.
     */
    @Test
    void aTraceeThatDiedUnwaitedForIsReleasedToItsParent() throws Exception {
        Process parent = new ProcessBuilder("python3", "-c", String.join("\n",
                "import subprocess, time",
                "p = subprocess.Popen(['sleep', '300'])",
                "print(p.pid, flush=True)",
                "time.sleep(300)")).redirectErrorStream(true).start();
        int pid = -1;
        try {
            pid = Integer.parseInt(new java.io.BufferedReader(new java.io.InputStreamReader(parent.getInputStream()))
                    .readLine().trim());
            assertNotEquals(Linux.getpid(), ProcFs.stat(pid).ppid());
            Ptrace.seize(pid, 0);
            Linux.kill(pid, 9);
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            Map<String, String> status = ProcFs.status(pid);
            while (!"0".equals(status.get("TracerPid")) && System.nanoTime() < deadline) {
                Thread.sleep(50);
                status = ProcFs.status(pid);
            }
            String seen = "State " + status.get("State") + ", PPid " + status.get("PPid") + ", TracerPid "
                    + status.get("TracerPid");
            assertEquals("0", status.get("TracerPid"), "released by slsd: " + seen);
            assertTrue(status.get("State").startsWith("Z"), seen);
            assertEquals(String.valueOf(parent.pid()), status.get("PPid"), "its parent's to reap: " + seen);
        } finally {
            if (pid > 0) {
                Ptrace.reapIfGone(pid, 1000); // still ours when the test fails
            }
            parent.destroyForcibly().waitFor();
        }
    }

    /**
     * Injected calls single-step over the gadget, whose SIGTRAP the kernel forces through: a
     * process that ignores SIGTRAP would lose that disposition, so it gets the two-stop way; a thread
     * that blocks SIGTRAP steps under the injector's mask. Batches of calls, which stop on an int3,
     * follow the same rule. Either way the signal state is as before and a SIGTRAP handler still
     * runs, also in the thread that had it blocked.
     */
    @Test
    void injectionLeavesSigtrapAsTheProcessHadIt() throws Exception {
        for (String mode : List.of("handle", "ignore", "block")) {
            Path out = tmp.resolve("trapper-" + mode + ".out");
            int pid = programs.start("trapper", List.of(out.toString(), mode), -1);
            TestPrograms.awaitLine(out, "ready"::equals, Duration.ofSeconds(10));
            Thread.sleep(50);
            Map<String, String> before = ProcFs.status(pid);
            Ptrace.seize(pid, LinuxSyscalls.PTRACE_O_TRACESYSGOOD);
            Ptrace.interrupt(pid);
            assertTrue(Ptrace.wait(pid).eventStop());
            Regs regs = Ptrace.getRegs(pid);
            long gadget = SyscallInjector.findGadget(pid, ProcFs.maps(pid));
            try (SyscallInjector inj = SyscallInjector.begin(pid, pid, gadget)) {
                assertEquals(!mode.equals("ignore"), inj.singleStepping(), mode);
                for (int i = 0; i < 20; i++) {
                    assertEquals(pid, inj.call(LinuxSyscalls.SYS_GETPID), mode);
                }
                // a batch stops on an int3, whose SIGTRAP is forced as a single step's: not where ignored.
                // Its code goes over the start of the [vdso], put back after; without one, into a page
                // mapped for it, unmapped after.
                List<Vma> maps = ProcFs.maps(pid);
                Vma vdso = maps.stream().filter(v -> v.path().equals("[vdso]")).findFirst().orElseThrow();
                byte[] vdsoBefore = Linux.readMem(pid, vdso.start(), (int) vdso.length());
                long table = inj.scratch(SyscallInjector.batchTableBytes(3), maps);
                for (boolean withVdso : List.of(true, false)) {
                    List<Vma> given = withVdso ? maps : maps.stream().filter(v -> v != vdso).toList();
                    long code = inj.mapBatchCode(given);
                    assertEquals(mode.equals("ignore"), code == 0, mode);
                    if (code == 0) {
                        break;
                    }
                    if (withVdso) {
                        assertTrue(vdso.start() <= code && code < vdso.end(), mode + ": in the [vdso]");
                        assertEquals(maps, ProcFs.maps(pid), mode + ": nothing mapped");
                    } else {
                        assertTrue(ProcFs.maps(pid).stream().anyMatch(v -> v.start() == code && v.executable()), mode);
                    }
                    inj.startBatch(code, table, List.of(new long[] {LinuxSyscalls.SYS_GETPID},
                            new long[] {LinuxSyscalls.SYS_GETTID}, new long[] {LinuxSyscalls.SYS_KILL, 0x3ffffff0, 0}));
                    long[] r = inj.batchResults();
                    assertArrayEquals(new long[] {pid, pid, -Errno.ESRCH}, r, mode);
                    inj.unmapBatchCode(code);
                    assertEquals(maps, ProcFs.maps(pid), mode + ": nothing left mapped");
                    assertArrayEquals(vdsoBefore, Linux.readMem(pid, vdso.start(), (int) vdso.length()),
                            mode + ": the [vdso] as it was");
                }
            }
            assertEquals(regs, Ptrace.getRegs(pid), mode);
            assertTrue(Ptrace.detach(pid, 0));
            Map<String, String> after = ProcFs.status(pid);
            for (String k : List.of("SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt")) {
                assertEquals(before.get(k), after.get(k), mode + " " + k);
            }
            if (mode.equals("handle")) {
                Linux.kill(pid, LinuxSyscalls.SIGTRAP);
                askForTraps(pid, out, "traps=1");
            } else if (mode.equals("block")) {
                // blocked still, with its handler: pending until unblocked, never delivered here
                Linux.kill(pid, LinuxSyscalls.SIGTRAP);
                askForTraps(pid, out, "traps=0");
                assertEquals(before.get("SigCgt"), ProcFs.status(pid).get("SigCgt"), "the handler is still there");
            }
        }
    }

    /**
     * Sends trapper SIGUSR1 until it reports {@code line}. It reports when a SIGUSR1 ends its pause();
     * one that arrives after the SIGTRAP's handler ended that pause() but before the program is
     * back in the next one is counted and never reported, so it is asked again.
     */
    private static void askForTraps(int pid, Path out, String line) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (true) {
            Linux.kill(pid, 10);
            try {
                TestPrograms.awaitLine(out, line::equals, Duration.ofMillis(500));
                return;
            } catch (AssertionError e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
            }
        }
    }

    @Test
    void hostFdsFindsWhoHoldsAPipeAndAPath() throws Exception {
        Path fifo = tmp.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        int pid = programs.startCommand(List.of("python3", "-c", "import os,sys,time\n"
                + "r,w=os.pipe(); f=os.open(sys.argv[1], os.O_RDWR)\n"
                + "print(os.readlink('/proc/self/fd/%d' % r), flush=True)\ntime.sleep(60)", fifo.toString()));
        String pipe = TestPrograms.awaitLine(tmp.resolve("cmd.stdout"), l -> l.startsWith("pipe:["), Duration.ofSeconds(10));
        Map<String, java.util.Set<Integer>> all = HostFds.links(Linux.getpid(), "pipe:", "/");
        assertEquals(java.util.Set.of(pid), all.get(pipe), pipe);
        assertEquals(java.util.Set.of(pid), all.get(fifo.toString()));
        assertTrue(all.keySet().stream().allMatch(l -> l.startsWith("pipe:") || l.startsWith("/")), "only what was asked");
        assertNull(HostFds.links(pid, "pipe:").get(pipe), "the skipped pid holds nothing");
    }

    /**
     * fdinfo longer than one read (an epoll watching 400 pipes) is read whole, and links per fd,
     * more of them (2400) than one getdents64 lists.
     */
    @Test
    void procFilesLongerThanOneReadAndFdLinks() throws Exception {
        int pid = programs.startCommand(List.of("python3", "-c", "import os,select,time\n"
                + "e=select.epoll()\nps=[os.pipe() for _ in range(1200)]\n"
                + "[e.register(r, select.EPOLLIN) for r,w in ps[:400]]\n"
                + "print('epfd=%d' % e.fileno(), flush=True)\ntime.sleep(60)"));
        String line = TestPrograms.awaitLine(tmp.resolve("cmd.stdout"), l -> l.startsWith("epfd="), Duration.ofSeconds(20));
        int epfd = Integer.parseInt(line.substring(5));
        String text = ProcFs.fdinfoText(pid, epfd);
        assertTrue(text.length() > 16384, "longer than two reads: " + text.length());
        assertEquals(400, text.lines().filter(l -> l.startsWith("tfd:")).count());
        java.util.SortedMap<Integer, String> links = HostFds.of(pid);
        assertEquals(ProcFs.fds(pid), List.copyOf(links.keySet()));
        assertEquals("anon_inode:[eventpoll]", links.get(epfd));
        assertEquals(2400, links.values().stream().filter(l -> l.startsWith("pipe:")).count());
        assertEquals(1200, HostFds.links(Linux.getpid(), "pipe:").entrySet().stream()
                .filter(e -> e.getValue().contains(pid)).count(), "the host-wide scan finds every pipe too (both ends read alike)");
        assertThrows(ProcFs.NoSuchProcessException.class, () -> ProcFs.fdinfoText(0x3ffffff0, 0));
    }

    /**
     * The raw reads of /proc (three calls a small file, three a listing) answer as java.nio does:
     * every thread of a process with 40, a file the kernel makes in one go and one longer than a
     * read, and a process that is gone.
     */
    @Test
    void rawProcReadsAnswerAsJavaNioDoes() throws Exception {
        int pid = programs.startCommand(List.of("python3", "-c", "import threading,time\n"
                + "[threading.Thread(target=time.sleep, args=(60,), daemon=True).start() for _ in range(39)]\n"
                + "print('up', flush=True)\ntime.sleep(60)"));
        TestPrograms.awaitLine(tmp.resolve("cmd.stdout"), l -> l.equals("up"), Duration.ofSeconds(20));
        List<Integer> nio = new java.util.ArrayList<>();
        try (java.nio.file.DirectoryStream<Path> ds = java.nio.file.Files.newDirectoryStream(Path.of("/proc/" + pid + "/task"))) {
            ds.forEach(t -> nio.add(Integer.parseInt(t.getFileName().toString())));
        }
        nio.sort(null);
        assertEquals(40, ProcFs.tasks(pid).size());
        assertEquals(nio, ProcFs.tasks(pid));
        assertEquals(40, ProcFs.stat(pid).numThreads());
        assertEquals(java.nio.file.Files.readString(Path.of("/proc/" + pid + "/status")).lines()
                .filter(l -> l.startsWith("Threads:")).findFirst().orElseThrow(), "Threads:\t" + ProcFs.status(pid).get("Threads"));
        List<Vma> maps = ProcFs.maps(pid);
        assertTrue(maps.size() > 100, "longer than one read: " + maps.size() + " mappings (a stack and a guard per thread)");
        assertEquals(java.nio.file.Files.readAllLines(Path.of("/proc/" + pid + "/maps")).size(), maps.size());
        int gone = 0x3ffffff0;
        assertThrows(ProcFs.NoSuchProcessException.class, () -> ProcFs.tasks(gone));
        assertThrows(ProcFs.NoSuchProcessException.class, () -> ProcFs.stat(gone));
        assertThrows(ProcFs.NoSuchProcessException.class, () -> ProcFs.maps(gone));
    }

    /**
     * smaps, parsed in one pass: the same VMAs as maps (paths with spaces too), each with its
     * VmFlags, and the Anonymous total counts the pages the program wrote.
     */
    @Test
    void smapsGivesTheMapsVmasWithFlagsAndAnonymousMemory() throws Exception {
        int pid = programs.startCommand(List.of("python3", "-c", "import mmap,time\n"
                + "f=open('" + tmp.resolve("a file with spaces") + "','wb+'); f.write(b'x'*8192); f.flush()\n"
                + "m=mmap.mmap(f.fileno(), 8192)\n"
                + "a=mmap.mmap(-1, 64<<20, flags=mmap.MAP_PRIVATE); a.write(b'y'*(32<<20))\n"
                + "print('ready', flush=True)\ntime.sleep(60)"));
        TestPrograms.awaitLine(tmp.resolve("cmd.stdout"), "ready"::equals, Duration.ofSeconds(20));
        ProcFs.Smaps s = ProcFs.smapsDetailed(pid);
        List<Vma> maps = ProcFs.maps(pid);
        assertEquals(maps.size(), s.vmas().size());
        for (int i = 0; i < maps.size(); i++) {
            Vma m = maps.get(i);
            Vma v = s.vmas().get(i);
            assertEquals(List.of(m.start(), m.end(), m.perms(), m.offset(), m.inode(), m.path()),
                    List.of(v.start(), v.end(), v.perms(), v.offset(), v.inode(), v.path()));
            assertTrue(v.has("rd") == v.readable() && !v.vmFlags().isEmpty(), v.toString());
        }
        assertTrue(s.vmas().stream().anyMatch(v -> v.path().endsWith("a file with spaces") && v.has("sh")));
        assertTrue(s.anonymousBytes() >= 32L << 20, "anonymous " + s.anonymousBytes());
        assertTrue(s.anonymousBytes() < 64L << 20, "anonymous " + s.anonymousBytes());
    }

    @Test
    void pagemapScanFindsPresentPages() {
        try (NativeMemory m = NativeMemory.map(16 * 4096, false, false); PageMap pm = PageMap.open(Linux.getpid())) {
            m.buffer(3 * 4096, 8).putLong(0, 7);
            m.buffer(9 * 4096, 8).putLong(0, 7);
            PageRanges r = new PageRanges();
            pm.scanOrThrow(m.address(), m.address() + m.size(), 0, 0, 0, PageMap.PAGE_IS_PRESENT, r);
            assertEquals(2, r.pages(), r.toString());
            assertTrue(r.contains(m.address() + 3 * 4096));
        }
    }

    /**
     * More runs than the kernel buffers in one walk (512): each page told once, in order. This
     * kernel's walk_end then says where its buffer first filled, not where the walk ended.
     */
    @Test
    void pagemapScanOfManyRunsTellsEachPageOnce() {
        int pages = 4096;
        try (NativeMemory m = NativeMemory.map(pages * 4096L, false, false); PageMap pm = PageMap.open(Linux.getpid())) {
            for (int i = 0; i < pages; i += 2) {
                m.buffer(i * 4096L, 8).putLong(0, i + 1);
            }
            PageRanges present = new PageRanges();
            PageRanges absent = new PageRanges();
            assertEquals(0, pm.scanAll(m.address(), m.address() + m.size(), 0, PageMap.PAGE_IS_PRESENT, (s, e, cat) -> {
                ((cat & PageMap.PAGE_IS_PRESENT) != 0 ? present : absent).add(s, e);
            }));
            assertEquals(pages / 2, present.pages());
            assertEquals(pages / 2, absent.pages());
            assertEquals(pages / 2, present.size(), "every other page");
            PageRanges scanned = new PageRanges();
            pm.scanOrThrow(m.address(), m.address() + m.size(), 0, 0, 0, PageMap.PAGE_IS_PRESENT, scanned);
            assertEquals(present.toString(), scanned.toString());
        }
    }

    @Test
    void spawnTracedStopsBeforeTheFirstInstruction() throws Exception {
        Path bin = programs.compile("sleeper");
        Path out = tmp.resolve("traced.out");
        int pid = Spawner.spawnTraced(new Spawner.Spec(List.of(bin.toString(), out.toString()), Map.of(),
                tmp.toString(), null, null, null, -1), programs.reaper());
        programs.track(pid);
        assertEquals(Linux.gettid(), ProcFs.tracerPid(pid));
        assertEquals(bin.toString(), ProcFs.link(pid, "exe").orElseThrow());
        assertFalse(Files.exists(out), "nothing ran yet");
        assertEquals(List.of(0, 1, 2), ProcFs.fds(pid));
        Ptrace.detach(pid, 0);
        TestPrograms.awaitLine(out, "ready"::equals, Duration.ofSeconds(10));
    }

    @Test
    void reaperReportsEachWatchedChildsExitWithoutPolling() throws Exception {
        // the reaper sleeps in poll(2) on pidfds: an exit must still be seen at once, and a pid
        // watched while the reaper sleeps must be taken into that sleep
        int exits = Spawner.spawn(Spawner.Spec.of(List.of("/bin/sh", "-c", "sleep 0.3; exit 7")), programs.reaper());
        programs.track(exits);
        int killed = Spawner.spawn(Spawner.Spec.of(List.of("/bin/sleep", "600")), programs.reaper());
        programs.track(killed);
        assertTrue(programs.reaper().watching(killed));
        assertEquals(7 << 8, programs.reaper().watch(exits).get(10, java.util.concurrent.TimeUnit.SECONDS));
        assertTrue(programs.reaper().watching(killed), "still running");
        Linux.killIfAlive(killed, 9);
        assertEquals(9, programs.reaper().watch(killed).get(10, java.util.concurrent.TimeUnit.SECONDS));
        assertFalse(ProcFs.exists(killed), "reaped, not left a zombie");
    }

    @Test
    void reaperLeavesATracedChildsDeathToItsTracer() throws Exception {
        // the wrapper of a traced spawn dies before its exec (it may not open the stream), while the
        // spawning thread, its tracer, waits for it: the reaper, woken by the same death, must not
        // take it from that wait (which then failed with ECHILD instead of saying what happened)
        Path forbidden = Path.of("/root/sls-reaper-test-" + System.nanoTime() + ".out");
        for (int i = 0; i < 10; i++) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Spawner.spawnTraced(
                    new Spawner.Spec(List.of("/bin/true"), Map.of(), tmp.toString(), null, forbidden.toString(),
                            forbidden.toString(), 65534), programs.reaper()));
            assertTrue(e.getMessage().contains("ended before it started"), e.getMessage());
        }
        assertFalse(Files.exists(forbidden));
    }

    static String sigState(int pid) {
        Map<String, String> s = ProcFs.status(pid);
        return s.get("SigPnd") + " " + s.get("ShdPnd") + " " + s.get("SigBlk") + " " + s.get("SigCgt");
    }
}
