package org.sls.slsd.checkpoint;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sls.slos.FormatOptions;
import org.sls.slos.PartitionRecord;
import org.sls.slos.Slos;
import org.sls.slsd.linux.KernelFeatures;
import org.sls.slsd.linux.NetworkLock;
import org.sls.slsd.linux.ProcFs;
import org.sls.slsd.linux.TestPrograms;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The engine's side of {@code checkpoint --kill} when it fails late: the epoch is committed but
 * marking the network lock as the epoch's fails, or something fails once the connections are in
 * repair mode, so the processes must not die: they run on, their
 * connection to the outside peer (the test, through a real nftables lock) is out of repair mode
 * and works, and the lock is gone. The peer is a python3 echo client of a server socket of the
 * test. Every process is ended by pid, every table removed, also on failure.
 */
class CheckpointKillTest {
    private static final KernelFeatures FEATURES = KernelFeatures.probe();
    private static final String PART = "killer";
    private final String table = NetworkLock.PREFIX + "test" + ProcessHandle.current().pid() + "_" + PART;
    @TempDir
    Path tmp;
    Slos store;
    TestPrograms programs;
    CheckpointEngine engine;

    @BeforeEach
    void setUp() {
        Path img = tmp.resolve("store.img");
        Slos.format(img, FormatOptions.defaults().withSize(128L << 20));
        store = Slos.open(img, null);
        programs = new TestPrograms(tmp);
        engine = new CheckpointEngine(store, FEATURES, programs.reaper());
        store.createPartition(new PartitionRecord(PART, PartitionRecord.BACKEND_SLOS, "full", 0, 0,
                System.currentTimeMillis()));
    }

    @AfterEach
    void tearDown() {
        NetworkLock.remove(table);
        engine.close();
        programs.close();
        store.close();
    }

    /** A lock on a real table whose {@code committed} fails when told to, recording what it was asked. */
    private final class FailingLock implements KillLock {
        final List<NetworkLock.Connection> installed = new ArrayList<>();
        final boolean failCommitted;
        int removed;

        FailingLock(boolean failCommitted) {
            this.failCommitted = failCommitted;
        }

        @Override
        public void install(List<NetworkLock.Connection> connections) {
            installed.addAll(connections);
            NetworkLock.install(table, "test lock", connections);
        }

        @Override
        public void committed(long epoch, List<NetworkLock.Connection> connections) {
            assertTrue(NetworkLock.comment(table).isPresent(), "the lock stands until the commit");
            if (failCommitted) {
                throw new IllegalStateException("nft refused (test)");
            }
        }

        @Override
        public void remove() {
            removed++;
            NetworkLock.remove(table);
        }
    }

    @Test
    void aLockFailingAfterTheCommitLeavesTheProcessRunningConnectedAndUnlocked() throws Exception {
        failLate(true);
    }

    @Test
    void aFailureAfterTheConnectionWentIntoRepairModeTakesItOutAgain() throws Exception {
        engine.onStep(step -> {
            if (step.equals("silenced")) {
                throw new IllegalStateException("failure injected after the repair mode (test)");
            }
        });
        failLate(false);
    }

    private void failLate(boolean inLock) throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            String echo = "import socket,sys\n"
                    + "s = socket.create_connection(('127.0.0.1', " + server.getLocalPort() + "))\n"
                    + "f = s.makefile('rw')\n"
                    + "for line in f:\n"
                    + "    f.write('echo ' + line)\n"
                    + "    f.flush()\n";
            int pid = programs.startCommand(List.of("python3", "-c", echo));
            server.setSoTimeout(30_000);
            try (Socket peer = server.accept()) {
                peer.setSoTimeout(30_000);
                OutputStream out = peer.getOutputStream();
                BufferedReader in = new BufferedReader(new InputStreamReader(peer.getInputStream(), StandardCharsets.US_ASCII));
                out.write("one\n".getBytes(StandardCharsets.US_ASCII));
                assertEquals("echo one", in.readLine());

                engine.attach(PART, pid, 0);
                FailingLock lock = new FailingLock(inLock);
                CheckpointException e = assertThrows(CheckpointException.class,
                        () -> engine.checkpointAndKill(PART, false, "full", 0, false, lock));
                assertTrue(e.getMessage().contains("epoch 1 is committed, but its processes were not killed"), e.getMessage());
                assertEquals(List.of(new NetworkLock.Connection(
                        new InetSocketAddress(InetAddress.getByName("127.0.0.1"), peer.getPort()),
                        new InetSocketAddress(InetAddress.getByName("127.0.0.1"), server.getLocalPort()))), lock.installed,
                        "the lock held the connection, seen from the partition");
                assertEquals(1, lock.removed);
                assertTrue(NetworkLock.comment(table).isEmpty(), "no lock is left");
                assertTrue(store.lastEpoch(PART).isPresent(), "the epoch stays committed");

                char state = ProcFs.stat(pid).state();
                assertTrue(state != 'Z' && state != 'X', "the process runs on (state " + state + ")");
                out.write("two\n".getBytes(StandardCharsets.US_ASCII));
                assertEquals("echo two", in.readLine(), "the connection works as before");
                assertTrue(engine.attached(PART).contains(pid), "it stays in its partition");
            }
        }
    }
}
