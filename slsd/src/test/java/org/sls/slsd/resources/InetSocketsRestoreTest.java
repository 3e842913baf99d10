package org.sls.slsd.resources;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.slos.FormatOptions;
import org.sls.slos.PartitionRecord;
import org.sls.slos.Slos;
import org.sls.slsd.checkpoint.CheckpointEngine;
import org.sls.slsd.checkpoint.CheckpointResult;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.checkpoint.manifest.Manifest;
import org.sls.slsd.checkpoint.manifest.ManifestCodec;
import org.sls.slsd.linux.InetCalls;
import org.sls.slsd.linux.InetCalls.InetSocket;
import org.sls.slsd.linux.KernelFeatures;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.TestPrograms;
import org.sls.slsd.restore.RestoreEngine;
import org.sls.slsd.restore.RestoreResult;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/**
 * TCP and UDP sockets through checkpoint, SIGKILL and restore with the real engines on a real
 * store (workload inet.c): listeners, a dual-stack listener, UDP bound and connected, a connection
 * with bytes queued both ways, and a client/server pair mid-conversation that must not notice.
 * Every process started or restored is killed by pid at the end.
 */
class InetSocketsRestoreTest {
    private static final KernelFeatures FEATURES = KernelFeatures.probe();
    private static final String PART = "inet";
    @TempDir
    Path tmp;
    Slos store;
    TestPrograms programs;
    CheckpointEngine checkpoints;
    RestoreEngine restores;

    @BeforeEach
    void setUp() throws Exception {
        Files.createDirectories(tmp.resolve("resources"));
        Path img = tmp.resolve("store.img");
        Slos.format(img, FormatOptions.defaults().withSize(128L << 20));
        store = Slos.open(img, null);
        programs = new TestPrograms(tmp);
        checkpoints = new CheckpointEngine(store, FEATURES, programs.reaper());
        restores = new RestoreEngine(store, FEATURES, programs.reaper());
        store.createPartition(new PartitionRecord(PART, PartitionRecord.BACKEND_SLOS, "full", 0, 0,
                System.currentTimeMillis()));
    }

    @AfterEach
    void tearDown() {
        restores.close();
        checkpoints.close();
        programs.close();
        store.close();
    }

    private static String await(Path out, String prefix) throws Exception {
        return TestPrograms.awaitLine(out, l -> l.startsWith(prefix), Duration.ofSeconds(30));
    }

    private static int field(String line, String key) {
        return Integer.parseInt(ResourcesRestoreTest.RestoreFixtureLike.field(line, key));
    }

    private static void killAndWaitGone(List<Integer> pids) throws InterruptedException {
        for (int p : pids) {
            Linux.killIfAlive(p, 9);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        for (int p : pids) {
            while (ProcFs.exists(p)) {
                assertTrue(System.nanoTime() < deadline, "pid " + p + " still exists 20 s after SIGKILL");
                Thread.sleep(20);
            }
        }
    }

    private Manifest manifest(long epoch) {
        return ManifestCodec.decode(store.readBlob(PART, epoch, Manifest.BLOB));
    }

    private static Map<String, Long> roles(Manifest m, FdImage.Kind kind) {
        return m.processes().stream().flatMap(p -> p.fds().stream()).filter(f -> f.kind() == kind)
                .collect(Collectors.groupingBy(f -> f.detail("role", "-"), Collectors.counting()));
    }

    @Test
    void listenersUdpAndConnectionsInsideThePartitionCarryOn() throws Exception {
        Path out = tmp.resolve("inet.out");
        int pid = programs.start("resources/inet", List.of(out.toString()), -1);
        checkpoints.attach(PART, pid, 0);
        String ready = await(out, "ready");
        int c = field(ready, "c"), s = field(ready, "s");
        long dumps = InetCalls.dumps();
        CheckpointResult cp = checkpoints.checkpoint(PART, true, "full", 0);
        // listeners with empty accept queues, connections and UDP sockets tell all about themselves
        assertEquals(dumps, InetCalls.dumps(), "host-wide inet dumps made by the checkpoint");
        Manifest m = manifest(cp.epoch());
        Map<String, Long> tcp = roles(m, FdImage.Kind.TCP_SOCKET);
        // parent: 2 listeners, x, y, the accepted end; C and S inherited all that, plus their own ends
        assertEquals(6L, tcp.get("listen"), "listeners in " + tcp);
        // x, y and the accepted end in the parent; x, y and its own end in C; x, y and the accepted end in S
        assertEquals(9L, tcp.get("repair"), "connections in " + tcp);
        assertNull(tcp.get("closed"), "no connection leaves the partition: " + tcp);
        assertEquals(6L, roles(m, FdImage.Kind.UDP_SOCKET).values().stream().mapToLong(Long::longValue).sum());
        assertTrue(m.processes().stream().flatMap(p -> p.fds().stream())
                .anyMatch(f -> f.detail("outq", "").length() > 1000), "y's send queue saved");

        killAndWaitGone(List.of(c, s, pid));
        RestoreResult r = restores.restore(PART, cp.epoch(), false, false, 0);
        r.pids().forEach(programs::track);
        Files.createFile(Path.of(out + ".go"));
        assertEquals("conv rounds_ok=1 bad=0 nodelay=1", await(out, "conv"));
        assertEquals("parent l4=1 l6v4=1 l6v6=1 reuse=1 nonblock=1 v6only=0 udp=dgram rcvbuf=1 q=q-from-x big=1 bad=0",
                await(out, "parent"));
        await(out, "done");
    }

    /**
     * A checkpoint reads each socket and its options through one copy of it in slsd, kept for the
     * checkpoint only: none is left open in slsd afterwards.
     */
    @Test
    void checkpointsLeaveNoCopyOfASocketOpenInSlsd() throws Exception {
        Path out = tmp.resolve("inet.out");
        int pid = programs.start("resources/inet", List.of(out.toString()), -1);
        checkpoints.attach(PART, pid, 0);
        String ready = await(out, "ready");
        java.util.Set<String> theirs = new java.util.HashSet<>();
        for (int p : List.of(pid, field(ready, "c"), field(ready, "s"))) {
            theirs.addAll(socketLinks(Path.of("/proc", Integer.toString(p), "fd")));
        }
        assertTrue(theirs.size() >= 6, "the program's sockets: " + theirs);
        for (int i = 0; i < 4; i++) {
            checkpoints.checkpoint(PART, true, i == 0 ? "full" : "delta", 0);
        }
        java.util.Set<String> left = socketLinks(Path.of("/proc/self/fd"));
        left.retainAll(theirs);
        assertEquals(java.util.Set.of(), left, "the program's sockets still open in slsd");
    }

    /**
     * A socket's family, protocol, type and namespace are read once and carried to the next
     * checkpoint by inode: a delta of the same sockets reads none of them again (nor dumps the
     * host's unix sockets to tell that they are none of those), and an fd whose
     * socket was replaced meanwhile (a TCP listener, then a UDP socket under the same number) is
     * read afresh and saved as what it now is.
     */
    @Test
    void socketFactsAreCarriedByInodeNotByFd() throws Exception {
        Path go = tmp.resolve("go");
        int pid = programs.startCommand(List.of("python3", "-c", "import os,socket,sys,time\n"
                + "t=socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(('127.0.0.1', 0)); t.listen()\n"
                + "print('tcp=%d' % t.fileno(), flush=True)\n"
                + "while not os.path.exists(sys.argv[1]): time.sleep(0.01)\n"
                + "u=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.bind(('::1', 0))\n"
                + "os.dup2(u.fileno(), t.fileno()); u.close()\n"
                + "print('udp', flush=True)\ntime.sleep(60)", go.toString()));
        Path out = tmp.resolve("cmd.stdout");
        int fd = Integer.parseInt(await(out, "tcp=").substring(4));
        checkpoints.attach(PART, pid, 0);
        CheckpointResult first = checkpoints.checkpoint(PART, false, "full", 0);
        assertEquals(FdImage.Kind.TCP_SOCKET, fdOf(manifest(first.epoch()), fd).kind());
        long read = InetCalls.factsRead();
        long unixDumps = org.sls.slsd.linux.FdCalls.unixDumps();
        CheckpointResult same = checkpoints.checkpoint(PART, false, "delta", 0);
        assertEquals(read, InetCalls.factsRead(), "facts read again for an unchanged socket");
        assertEquals(unixDumps, org.sls.slsd.linux.FdCalls.unixDumps(),
                "the host's unix sockets dumped to tell that a TCP socket met before is none of theirs");
        assertEquals(FdImage.Kind.TCP_SOCKET, fdOf(manifest(same.epoch()), fd).kind());
        Files.writeString(go, "");
        await(out, "udp");
        CheckpointResult replaced = checkpoints.checkpoint(PART, false, "delta", 0);
        assertEquals(read + 1, InetCalls.factsRead(), "the new socket's facts, read once");
        FdImage img = fdOf(manifest(replaced.epoch()), fd);
        assertEquals(FdImage.Kind.UDP_SOCKET, img.kind(), img.toString());
        assertEquals(Integer.toString(InetCalls.AF_INET6), img.detail("family", ""), img.toString());
    }

    private static FdImage fdOf(Manifest m, int fd) {
        return m.processes().get(0).fds().stream().filter(f -> f.fd() == fd).findFirst()
                .orElseThrow(() -> new AssertionError("no fd " + fd + " in the manifest"));
    }

    private static java.util.Set<String> socketLinks(Path fdDir) throws java.io.IOException {
        java.util.Set<String> out = new java.util.HashSet<>();
        try (var fds = Files.list(fdDir)) {
            for (Path fd : fds.toList()) {
                try {
                    String link = Files.readSymbolicLink(fd).toString();
                    if (link.startsWith("socket:[")) {
                        out.add(link);
                    }
                } catch (java.io.IOException e) {
                    // closed meanwhile
                }
            }
        }
        return out;
    }

    @Test
    void aConnectionToAPeerOutsideComesBackClosedAndTheServerDropsIt() throws Exception {
        Path out = tmp.resolve("inet.out");
        int pid = programs.start("resources/inet", List.of(out.toString()), -1);
        String ready = await(out, "ready");
        int c = field(ready, "c"), s = field(ready, "s");
        // only the echo server S: its client C stays outside
        checkpoints.attach(PART, s, 0);
        CheckpointResult cp = checkpoints.checkpoint(PART, false, "full", 0);
        Map<String, Long> tcp = roles(manifest(cp.epoch()), FdImage.Kind.TCP_SOCKET);
        assertEquals(1L, tcp.get("closed"), "S's accepted end: " + tcp);
        FdImage closed = manifest(cp.epoch()).processes().stream().flatMap(p -> p.fds().stream())
                .filter(f -> "closed".equals(f.detail("role", null))).findFirst().orElseThrow();
        // it comes back with neither connection nor bind, so only what makes the socket is kept
        assertEquals("2", closed.detail("family", null), "closed: " + closed.details());
        assertNull(closed.detail("so_keepalive", null), "options of a socket that comes back closed: " + closed.details());
        // S, and the parent and C outside, which hold S's listeners and its client: all gone
        killAndWaitGone(List.of(s, c, pid));
        RestoreResult r = restores.restore(PART, cp.epoch(), false, true, 0);
        r.pids().forEach(programs::track);
        int restored = r.pids().get(0);
        // S reads its connection, gets an error instead of a counter, and leaves its loop
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (ProcFs.exists(restored) && !ProcFs.link(restored, "exe").isEmpty()
                && !new String(Files.readAllBytes(Path.of("/proc/" + restored + "/stat"))).contains(") Z")) {
            assertTrue(System.nanoTime() < deadline, "restored server " + restored + " never dropped its client");
            Thread.sleep(20);
        }
    }

    @Test
    void aListenerCountsOnlyTheConnectionsWaitingInItsQueueNotTheClosedOnesOnItsPort() throws Exception {
        // a busy server (nginx under load) has its port in many TIME_WAIT sockets, which no process
        // holds: they are neither in its accept queue nor anything a checkpoint may look at
        Path out = tmp.resolve("backlog.out");
        int accepted = 5;
        int pid = programs.start("resources/backlog", List.of(out.toString(), Integer.toString(accepted)), -1);
        int port = field(await(out, "ready"), "port");
        for (int i = 0; i < accepted; i++) {
            try (java.net.Socket c = new java.net.Socket("127.0.0.1", port)) {
                c.setSoTimeout(10_000);
                assertEquals(-1, c.getInputStream().read(), "the server closes first");
            }
        }
        await(out, "closed n=" + accepted);
        List<java.net.Socket> waiting = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                waiting.add(new java.net.Socket("127.0.0.1", port));
            }
            checkpoints.attach(PART, pid, 0);
            long dumps = InetCalls.dumps();
            CheckpointResult cp = checkpoints.checkpoint(PART, false, "full", 0);
            // only the host's sockets show which connections wait in the accept queue
            assertEquals(dumps + 1, InetCalls.dumps(), "host-wide inet dumps made by the checkpoint");
            FdImage listener = manifest(cp.epoch()).processes().get(0).fds().stream()
                    .filter(f -> f.kind() == FdImage.Kind.TCP_SOCKET).findFirst().orElseThrow();
            assertEquals("listen", listener.detail("role", "-"));
            assertEquals("3", listener.detail("dropped", "-"), "the connections waiting to be accepted: " + listener);
        } finally {
            for (java.net.Socket w : waiting) {
                w.close();
            }
        }
    }

    @Test
    void everySocketReadsAsTheHostWideDumpHasItAndFindsItsPeerInThePartition() throws Exception {
        Path out = tmp.resolve("inet.out");
        int pid = programs.start("resources/inet", List.of(out.toString()), -1);
        String ready = await(out, "ready");
        List<Integer> pids = List.of(pid, field(ready, "c"), field(ready, "s"));
        for (int p : pids) {
            Linux.kill(p, 19); // SIGSTOP: C and S talk without pause; their queues must hold still
        }
        try {
            Thread.sleep(200);
            CaptureContext ctx = new CaptureContext(pids, false);
            long dumps = InetCalls.dumps();
            Map<Long, InetSocket> own = new HashMap<>();
            InetSockets.partition(ctx).forEach(x -> own.put(x.ino(), x));
            assertEquals(dumps, InetCalls.dumps(), "host-wide inet dumps made reading the partition's sockets");
            Map<Long, InetSocket> dump = new HashMap<>();
            InetCalls.inetSockets().stream().filter(x -> own.containsKey(x.ino())).forEach(x -> dump.put(x.ino(), x));
            // 2 listeners, x, y, C's end and the accepted end, u and u2: each as the dump has it, queues
            // included but a TCP connection's, which the capture does not read (a repaired one reads its own)
            assertEquals(8, own.size(), "the partition's inet sockets: " + own.values());
            Map<Long, InetSocket> dumpAsRead = new HashMap<>();
            dump.forEach((ino, x) -> dumpAsRead.put(ino, x.protocol() == InetCalls.IPPROTO_TCP && x.state() != InetCalls.TCP_LISTEN
                    ? new InetSocket(x.ino(), x.family(), x.protocol(), x.state(), x.local(), x.remote(), InetCalls.NOT_READ,
                    InetCalls.NOT_READ) : x));
            assertEquals(dumpAsRead, own);
            assertTrue(dump.values().stream().anyMatch(x -> x.state() == InetCalls.TCP_ESTABLISHED && x.rqueue() == 8),
                    "\"q-from-x\" unread at y: " + dump.values());
            // read with its queues, a connection tells them as the dump does
            for (InetSocket x : own.values()) {
                if (x.protocol() == InetCalls.IPPROTO_TCP && x.state() == InetCalls.TCP_ESTABLISHED) {
                    assertEquals(dump.get(x.ino()), withQueues(x, pids), "read with its queues");
                }
            }
            for (InetSocket x : own.values()) {
                if (x.protocol() == InetCalls.IPPROTO_TCP && x.state() == InetCalls.TCP_ESTABLISHED) {
                    InetSocket o = InetSockets.peer(x, ctx).orElseThrow(() -> new AssertionError("no peer for " + x));
                    assertEquals(x, InetSockets.peer(o, ctx).orElseThrow(), "the peer of " + x + "'s peer " + o);
                }
            }
        } finally {
            for (int p : pids) {
                Linux.kill(p, 18); // SIGCONT
            }
        }
    }

    /** Socket {@code s}, held by one of {@code pids}, read again through a copy of it with its queues. */
    private static InetSocket withQueues(InetSocket s, List<Integer> pids) {
        String link = "socket:[" + s.ino() + "]";
        for (int pid : pids) {
            for (Map.Entry<Integer, String> e : org.sls.slsd.linux.HostFds.of(pid).entrySet()) {
                if (e.getValue().equals(link)) {
                    int pidfd = Linux.pidfdOpen(pid);
                    int copy = Linux.pidfdGetfd(pidfd, e.getKey());
                    try {
                        return InetCalls.fromFd(copy, s.ino(), "test copy of " + link).orElseThrow();
                    } finally {
                        Linux.close(copy);
                        Linux.close(pidfd);
                    }
                }
            }
        }
        throw new AssertionError("no process holds " + link);
    }

    @Test
    void whereASocketCannotTellWhatTheDumpWouldTheDumpDecides() throws Exception {
        int self = Linux.getpid();
        String what = "inet test socket";
        int fresh = InetCalls.socket(InetCalls.AF_INET, InetCalls.SOCK_STREAM, what);
        int bound = InetCalls.socket(InetCalls.AF_INET, InetCalls.SOCK_STREAM, what);
        int udp = InetCalls.socket(InetCalls.AF_INET6, InetCalls.SOCK_DGRAM, what);
        int sender = InetCalls.socket(InetCalls.AF_INET6, InetCalls.SOCK_DGRAM, what);
        try {
            java.net.InetSocketAddress any = new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0);
            InetCalls.bind(bound, InetCalls.AF_INET, any, what);
            java.net.InetSocketAddress six = new java.net.InetSocketAddress(java.net.InetAddress.getByName("::1"), 0);
            InetCalls.bind(udp, InetCalls.AF_INET6, six, what);
            InetCalls.connect(sender, InetCalls.AF_INET6, InetCalls.sockname(udp, what), what);
            InetCalls.sendAll(sender, "datagram".getBytes(), what);
            Thread.sleep(50);
            CaptureContext ctx = CaptureContext.single(self);
            long dumps = InetCalls.dumps();
            Map<Long, InetSocket> dump = new HashMap<>();
            InetCalls.inetSockets().forEach(x -> dump.put(x.ino(), x));
            for (int fd : new int[] {fresh, bound, udp}) {
                String link = ProcFs.link(self, "fd/" + fd).orElseThrow();
                long ino = Long.parseLong(link.substring("socket:[".length(), link.length() - 1));
                assertEquals(java.util.Optional.ofNullable(dump.get(ino)), InetSockets.of(self, fd, link, ctx),
                        "fd " + fd + " (" + link + ")");
            }
            // the unbound socket is in no hash of the kernel, the bound one only in its bind hash
            assertTrue(InetSockets.of(self, fresh, ProcFs.link(self, "fd/" + fresh).orElseThrow(), ctx).isEmpty());
            assertTrue(dump.values().stream().anyMatch(x -> x.state() == InetCalls.TCP_CLOSE
                    && x.protocol() == InetCalls.IPPROTO_TCP), "a bound TCP socket in the dump: " + dump.values());
            // one dump here, one (of the context, once) for the sockets the dump decides
            assertEquals(dumps + 2, InetCalls.dumps(), "host-wide inet dumps");
        } finally {
            for (int fd : new int[] {fresh, bound, udp, sender}) {
                Linux.close(fd);
            }
        }
    }
}
