package org.sls.slsd.capture;

import org.junit.jupiter.api.Test;
import org.sls.slsd.capture.fd.FdKinds;
import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.checkpoint.CheckpointException;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.linux.Linux;

import static org.junit.jupiter.api.Assertions.*;

class FdKindsTest {
    @Test
    void everyKindHasACapture() {
        for (FdImage.Kind k : FdImage.Kind.values()) {
            assertNotNull(FdKinds.all().get(k), "no capture for " + k);
        }
    }

    @Test
    void eachKindRecognisesItsOwnFds() {
        FdProbe file = new FdProbe(1, 5, "/etc/hostname", 0, 3, FdProbe.S_IFREG | 0644, "", "");
        assertEquals(FdImage.Kind.REGULAR, kindOf(file));
        assertEquals(FdImage.Kind.STD_PIPE, kindOf(new FdProbe(1, 1, "pipe:[77]", 1, 0, FdProbe.S_IFIFO, "", "")));
        assertEquals(FdImage.Kind.PIPE, kindOf(new FdProbe(1, 4, "pipe:[77]", 1, 0, FdProbe.S_IFIFO, "", "")),
                "pipes beyond fd 2: org.sls.slsd.resources (issue 6)");
        assertEquals(FdImage.Kind.CHAR_DEVICE, kindOf(new FdProbe(1, 7, "/dev/null", 2, 0, FdProbe.S_IFCHR | 0666, "", "")));
        assertEquals(FdImage.Kind.PTY, kindOf(new FdProbe(1, 7, "/dev/pts/3", 2, 0, FdProbe.S_IFCHR | 0620, "", "")),
                "a pseudo-terminal on any fd: org.sls.slsd.resources.PtyKind (issue 6)");
        assertEquals(FdImage.Kind.STD_TTY, kindOf(new FdProbe(1, 0, "/dev/tty1", 2, 0, FdProbe.S_IFCHR | 0620, "", "")));
        assertNull(kindOf(new FdProbe(1, 7, "/dev/tty1", 2, 0, FdProbe.S_IFCHR | 0620, "", "")),
                "a virtual console beyond the std streams is refused");
    }

    @Test
    void unknownKindsAreRefusedByName() {
        int self = Linux.getpid();
        try (org.sls.slsd.linux.Userfaultfd u = org.sls.slsd.linux.Userfaultfd.createLocal(
                org.sls.slsd.linux.Userfaultfd.CREATE_FLAGS)) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> FdCapture.capture(self, u.fd()));
            assertEquals(CheckpointException.Kind.UNSUPPORTED_RESOURCE, e.kind());
            assertEquals("pid " + self + " fd " + u.fd() + " (anon_inode:[userfaultfd], userfaultfd owned by the process): not supported yet", e.getMessage());
        }
    }

    @Test
    void mappingsOfAnonymousInodesAreRefusedByNameAndFileContentMappingsAreShared() {
        org.sls.slsd.linux.Vma ring = new org.sls.slsd.linux.Vma(0x7f0000000000L, 0x7f0000002000L, "rw-s", 0, 0, 14, 1234,
                "anon_inode:[io_uring]", java.util.Set.of());
        CheckpointException e = assertThrows(CheckpointException.class, () -> MemoryCapture.kindOf(42, ring));
        assertEquals("pid 42 mapping 7f0000000000-7f0000002000 rw-s anon_inode:[io_uring] (io_uring instance): not supported yet",
                e.getMessage());
        for (String path : java.util.List.of("/memfd:x (deleted)", "/dev/shm/x", "/var/tmp/x (deleted)", "/SYSV00000000 (deleted)")) {
            org.sls.slsd.linux.Vma v = new org.sls.slsd.linux.Vma(0x1000, 0x2000, "rw-s", 0, 0, 1, 7, path, java.util.Set.of());
            assertEquals(org.sls.slsd.checkpoint.manifest.RegionImage.Kind.SHARED, MemoryCapture.kindOf(1, v), path);
        }
        org.sls.slsd.linux.Vma priv = new org.sls.slsd.linux.Vma(0x1000, 0x2000, "r--p", 0, 0xfe, 0, 7, "/var/tmp/x (deleted)",
                java.util.Set.of());
        assertEquals(org.sls.slsd.checkpoint.manifest.RegionImage.Kind.FILE_PRIVATE, MemoryCapture.kindOf(1, priv),
                "a private mapping of a deleted file: its content is saved with the shared files");
    }

    private static FdImage.Kind kindOf(FdProbe p) {
        return FdKinds.all().entrySet().stream().filter(e -> e.getValue().matches(p)).map(java.util.Map.Entry::getKey)
                .findFirst().orElse(null);
    }
}
