package org.sls.slsd.resources;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.libsls.protocol.Codec;
import org.sls.slos.FormatOptions;
import org.sls.slos.PartitionRecord;
import org.sls.slos.Slos;
import org.sls.slsd.checkpoint.CheckpointEngine;
import org.sls.slsd.checkpoint.CheckpointException;
import org.sls.slsd.checkpoint.CheckpointResult;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.checkpoint.manifest.Manifest;
import org.sls.slsd.checkpoint.manifest.ManifestCodec;
import org.sls.slsd.linux.FdCalls;
import org.sls.slsd.linux.KernelFeatures;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.TestPrograms;
import org.sls.slsd.restore.RestoreEngine;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link SlsControlKind} with the real engines: this test's JVM plays slsd (it holds the accepted
 * end of the connection, bound to a listening socket's name), a C client connected to it is
 * checkpointed, SIGKILLed and restored, and reports what it reads on that connection afterwards.
 */
class SlsControlRestoreTest {
    private static final KernelFeatures FEATURES = KernelFeatures.probe();
    private static final String PART = "c";
    @TempDir
    Path tmp;
    Slos store;
    TestPrograms programs;
    CheckpointEngine checkpoints;
    RestoreEngine restores;
    ServerSocketChannel server;

    @BeforeEach
    void setUp() throws Exception {
        Files.createDirectories(tmp.resolve("resources"));
        Path img = tmp.resolve("store.img");
        Slos.format(img, FormatOptions.defaults().withSize(64L << 20));
        store = Slos.open(img, null);
        programs = new TestPrograms(tmp);
        checkpoints = new CheckpointEngine(store, FEATURES, programs.reaper());
        restores = new RestoreEngine(store, FEATURES, programs.reaper());
        store.createPartition(new PartitionRecord(PART, PartitionRecord.BACKEND_SLOS, "full", 0, 0,
                System.currentTimeMillis()));
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(tmp.resolve("control.sock")));
    }

    @AfterEach
    void tearDown() throws Exception {
        server.close();
        restores.close();
        checkpoints.close();
        programs.close();
        store.close();
    }

    /** Starts the client, accepts its connection; returns {pid, the client's fd}. */
    private int[] client(Path out, String mode, SocketChannel[] accepted) throws Exception {
        int pid = programs.start("resources/control", List.of(out.toString(), tmp.resolve("control.sock").toString(), mode), -1);
        accepted[0] = server.accept();
        String ready = TestPrograms.awaitLine(out, l -> l.startsWith("ready"), Duration.ofSeconds(20));
        return new int[] {pid, Integer.parseInt(ready.substring("ready fd=".length()))};
    }

    /** The inode of this JVM's end of the client's connection: the peer of the client's socket. */
    private static long serverEnd(int pid, int fd) {
        String link = ProcFs.link(pid, "fd/" + fd).orElseThrow();
        long ino = Long.parseLong(link.substring("socket:[".length(), link.length() - 1));
        return FdCalls.unixSockets().get(ino).peer();
    }

    private static void killAndWaitGone(int pid) throws InterruptedException {
        Linux.killIfAlive(pid, 9);
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (ProcFs.exists(pid)) {
            assertTrue(System.nanoTime() < deadline, "pid " + pid + " still exists 20 s after SIGKILL");
            Thread.sleep(20);
        }
    }

    private FdImage controlFd(long epoch, int pid, int fd) {
        Manifest m = ManifestCodec.decode(store.readBlob(PART, epoch, Manifest.BLOB));
        return m.process(pid).fds().stream().filter(f -> f.fd() == fd).findFirst().orElseThrow();
    }

    @Test
    void aClientBlockedOnItsSelfCheckpointReadsRestoredTrueThenEof() throws Exception {
        Path out = tmp.resolve("self.out");
        SocketChannel[] accepted = new SocketChannel[1];
        int[] c = client(out, "block", accepted);
        try (SocketChannel ignored = accepted[0]) {
            checkpoints.attach(PART, c[0], 0);
            CheckpointResult cp = checkpoints.checkpoint(PART, false, "full", 0, false,
                    new CaptureContext.SelfCall(serverEnd(c[0], c[1]), 77));
            FdImage fd = controlFd(cp.epoch(), c[0], c[1]);
            assertEquals(FdImage.Kind.SLS_CONTROL, fd.kind());
            assertEquals("self", fd.detail("role", ""));
            assertEquals("77", fd.detail("request", ""));

            killAndWaitGone(c[0]);
            programs.track(restores.restore(PART, cp.epoch(), false, false, 0).pids().get(0));
            String read = TestPrograms.awaitLine(out, l -> l.startsWith("read "), Duration.ofSeconds(20));
            assertTrue(read.startsWith("read bytes=") && read.contains(" eof=1 epipe=1 text="), read);
            JsonNode answer = Codec.MAPPER.readTree(read.substring(read.indexOf("text=") + 5));
            assertEquals(77, answer.get("id").longValue());
            assertTrue(answer.get("ok").booleanValue());
            assertEquals(PART, answer.get("result").get("partition").textValue());
            assertEquals(cp.epoch(), answer.get("result").get("epoch").longValue());
            assertTrue(answer.get("result").get("restored").booleanValue(), read);
        }
    }

    @Test
    void anIdleConnectionComesBackWithWhatSlsdHadSentThenEof() throws Exception {
        Path out = tmp.resolve("idle.out");
        SocketChannel[] accepted = new SocketChannel[1];
        int[] c = client(out, "wait", accepted);
        try (SocketChannel s = accepted[0]) {
            s.write(ByteBuffer.wrap("{\"v\":1,\"id\":5,\"ok\":true,\"result\":{}}\n".getBytes(StandardCharsets.UTF_8)));
            checkpoints.attach(PART, c[0], 0);
            CheckpointResult cp = checkpoints.checkpoint(PART, false, "full", 0);
            FdImage fd = controlFd(cp.epoch(), c[0], c[1]);
            assertEquals(FdImage.Kind.SLS_CONTROL, fd.kind());
            assertEquals("idle", fd.detail("role", ""));

            killAndWaitGone(c[0]);
            programs.track(restores.restore(PART, cp.epoch(), false, false, 0).pids().get(0));
            Files.createFile(Path.of(out + ".go"));
            assertEquals("read bytes=37 eof=1 epipe=1 text={\"v\":1,\"id\":5,\"ok\":true,\"result\":{}}",
                    TestPrograms.awaitLine(out, l -> l.startsWith("read "), Duration.ofSeconds(20)));
        }
    }

    @Test
    void aSelfCheckpointWhoseConnectionNoProcessHoldsIsRefusedAndTheClientRunsOn() throws Exception {
        Path out = tmp.resolve("refused.out");
        SocketChannel[] accepted = new SocketChannel[1];
        int[] c = client(out, "wait", accepted);
        try (SocketChannel s = accepted[0]) {
            checkpoints.attach(PART, c[0], 0);
            long elsewhere = -1; // no socket has this inode: as a caller whose connection is outside the tree
            CheckpointException e = assertThrows(CheckpointException.class, () -> checkpoints.checkpoint(PART, false, "full",
                    0, false, new CaptureContext.SelfCall(elsewhere, 1)));
            assertTrue(e.getMessage().contains("holds the caller's connection"), e.getMessage());
            assertTrue(store.epochs(PART).isEmpty(), "nothing committed");
            s.write(ByteBuffer.wrap("still here\n".getBytes(StandardCharsets.UTF_8)));
            s.shutdownOutput();
            Files.createFile(Path.of(out + ".go"));
            assertEquals("read bytes=11 eof=1 epipe=0 text=still here",
                    TestPrograms.awaitLine(out, l -> l.startsWith("read "), Duration.ofSeconds(20)));
        }
    }
}
