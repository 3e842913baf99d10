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
 * The capture side of {@link PtyKind} on terminals this test opens itself: what it refuses
 * (masters, and slaves whose master the partition holds too) and what it saves.
 */
class PtyKindTest {
    private static final int SELF = Linux.getpid();

    @Test
    void aMasterInThePartitionIsRefusedByName() {
        int master = PtyCalls.openMaster();
        try {
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> FdCapture.capture(SELF, new CaptureContext(List.of(SELF), false)));
            assertEquals(CheckpointException.Kind.UNSUPPORTED_RESOURCE, e.kind());
            assertTrue(e.getMessage().startsWith("pid " + SELF + " fd " + master + " (/dev/ptmx): pseudo-terminal master"),
                    e.getMessage());
        } finally {
            Linux.close(master);
        }
    }

    @Test
    void aSlaveWhoseMasterIsInThePartitionIsRefusedAndOneWhoseMasterIsOutsideIsSaved() {
        int master = PtyCalls.openMaster();
        int slave = PtyCalls.openSlave(master, FdCalls.O_RDWR);
        try {
            int n = PtyCalls.number(master);
            PtyKind kind = new PtyKind();
            var probe = new org.sls.slsd.capture.fd.FdProbe(SELF, slave, "/dev/pts/" + n, FdCalls.O_RDWR, 0,
                    org.sls.slsd.capture.fd.FdProbe.S_IFCHR | 0620, "");
            assertTrue(kind.supports(probe, CaptureContext.single(SELF)));
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> kind.capture(probe, CaptureContext.single(SELF)));
            assertEquals("pid " + SELF + " fd " + slave + " (/dev/pts/" + n + "): its master is in the partition too (pid "
                    + SELF + " fd " + master + "): a pseudo-terminal pair inside a partition is not supported yet", e.getMessage());

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
