package org.sls.slsd.resources;

import org.junit.jupiter.api.Test;
import org.sls.slsd.capture.FdCapture;
import org.sls.slsd.checkpoint.CheckpointException;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.linux.FdCalls;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.PtyCalls;

import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The capture side of {@link PtyKind} on terminals this test opens itself: what it refuses (a
 * master whose slave a process outside the partition holds) and what it saves.
 */
class PtyKindTest {
    private static final int SELF = Linux.getpid();

    @Test
    void aMasterWhoseSlaveIsHeldOutsideThePartitionIsRefusedByName() throws Exception {
        int master = PtyCalls.openMaster();
        Process outside = null;
        try {
            int n = PtyCalls.number(master);
            outside = new ProcessBuilder("sleep", "600").redirectInput(new java.io.File("/dev/pts/" + n)).start();
            var probe = new org.sls.slsd.capture.fd.FdProbe(SELF, master, "/dev/ptmx", FdCalls.O_RDWR, 0,
                    org.sls.slsd.capture.fd.FdProbe.S_IFCHR | 0666, "",
                    org.sls.slsd.linux.ProcFs.fdinfoText(SELF, master));
            PtyKind kind = new PtyKind();
            assertTrue(kind.supports(probe, CaptureContext.single(SELF)));
            long holder = outside.pid();
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> kind.capture(probe, CaptureContext.single(SELF)));
            assertEquals(CheckpointException.Kind.UNSUPPORTED_RESOURCE, e.kind());
            assertEquals("pid " + SELF + " fd " + master + " (/dev/ptmx, master of /dev/pts/" + n + "): its terminal is also"
                    + " held outside the partition by pid " + holder + "; checkpoint that process too (-r from their"
                    + " common ancestor)", e.getMessage());
            // with the holder in the partition, the master is saved with its terminal's settings
            FdImage img = kind.capture(probe, new CaptureContext(List.of(SELF, (int) holder), false));
            assertEquals("true", img.detail("master", ""));
            assertEquals("pty:" + n, img.identity());
            assertNotNull(img.detail("termios", null));
        } finally {
            if (outside != null) {
                outside.destroyForcibly();
                outside.waitFor();
            }
            Linux.close(master);
        }
    }

    @Test
    void aSlaveIsSavedWithItsTerminalsSettingsAndWhetherItsMasterIsInThePartition() {
        int master = PtyCalls.openMaster();
        int slave = PtyCalls.openSlave(master, FdCalls.O_RDWR);
        try {
            int n = PtyCalls.number(master);
            PtyKind kind = new PtyKind();
            var probe = new org.sls.slsd.capture.fd.FdProbe(SELF, slave, "/dev/pts/" + n, FdCalls.O_RDWR, 0,
                    org.sls.slsd.capture.fd.FdProbe.S_IFCHR | 0620, "",
                    org.sls.slsd.linux.ProcFs.fdinfoText(SELF, slave));
            assertTrue(kind.supports(probe, CaptureContext.single(SELF)));
            assertEquals("true", kind.capture(probe, CaptureContext.single(SELF)).detail("inside", ""),
                    "its master is in the partition too: both ends come back");

            // seen from a partition that does not hold the master (a probe of another pid's fd)
            PtyCalls.setWindowSize(slave, 33, 101, 0, 0, "test pty");
            CaptureContext outside = new CaptureContext(List.of(), false);
            FdImage img = kind.capture(probe, outside);
            assertEquals(FdImage.Kind.PTY, img.kind());
            assertEquals("pty:" + n, img.identity());
            assertEquals("33", img.detail("rows", ""));
            assertEquals("101", img.detail("cols", ""));
            assertArrayEquals(PtyCalls.termios(slave, "test pty"), HexFormat.of().parseHex(img.detail("termios", "")));
            assertNull(img.detail("session", null), "the test's session does not have it as controlling terminal");
            FdImage second = kind.capture(probe, outside);
            assertNull(second.detail("termios", null), "the terminal's settings are saved once per checkpoint");
        } finally {
            Linux.close(slave);
            Linux.close(master);
        }
    }
}
