package org.sls.slsd.resources;

import org.junit.jupiter.api.Test;
import org.sls.slsd.capture.fd.FdKinds;
import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.checkpoint.manifest.ManifestCodec;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class ResourceKindsTest {
    /** The kinds restored by the engine's own switch (StateRestorer.fds), not by this package. */
    private static final java.util.Set<FdImage.Kind> ENGINE_KINDS = java.util.EnumSet.of(FdImage.Kind.REGULAR,
            FdImage.Kind.DIRECTORY, FdImage.Kind.CHAR_DEVICE, FdImage.Kind.STD_PIPE, FdImage.Kind.STD_TTY,
            FdImage.Kind.STD_SOCKET);

    @Test
    void everyKindHasAnEntry() {
        for (FdImage.Kind k : FdImage.Kind.values()) {
            assertTrue(ResourceKinds.all().containsKey(k) || ENGINE_KINDS.contains(k), "no class for fd kind " + k);
            assertNotNull(FdKinds.all().get(k), "no capture for " + k);
            if (ResourceKinds.all().containsKey(k)) {
                assertEquals(k, ResourceKinds.all().get(k).kind(), "the class registered under " + k + " says it is");
            }
        }
    }

    @Test
    void detailsRoundTripAndOldImagesStillDecode() {
        FdImage withDetails = new FdImage(4, FdImage.Kind.PIPE, "pipe:[1]", 0, 0, 0, "pipe:[1]", Map.of("data", "aGk="));
        String json = "{\"fd\":3,\"kind\":\"REGULAR\",\"path\":\"/etc/hostname\",\"flags\":0,\"offset\":2,\"mode\":33188,"
                + "\"identity\":\"\"}";
        com.fasterxml.jackson.databind.ObjectMapper m = new com.fasterxml.jackson.databind.ObjectMapper();
        try {
            FdImage old = m.readValue(json, FdImage.class);
            assertNull(old.details());
            assertEquals("x", old.detail("data", "x"));
            assertEquals(withDetails, m.readValue(m.writeValueAsString(withDetails), FdImage.class));
            assertFalse(m.writeValueAsString(old).contains("details"), "no details field for kinds without any");
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        assertNotNull(ManifestCodec.class);
    }

    @Test
    void epollTargetsParse() {
        FdImage ep = new FdImage(5, FdImage.Kind.EPOLL, "anon_inode:[eventpoll]", 2, 0, 0, "epoll:pid 1 fd 5",
                Map.of("targets", "3,80000019,1234;7,1,ffffffffffffffff"));
        var t = EpollKind.targets(ep);
        assertEquals(2, t.size());
        assertArrayEquals(new long[] {3, 0x80000019L, 0x1234}, t.get(0));
        assertArrayEquals(new long[] {7, 1, -1L}, t.get(1));
    }
}
