package org.sls.slsd.linux;

import jnr.ffi.Pointer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * SysV shared memory segments as slsd itself sees them (host IPC namespace): create one under a
 * chosen id (through /proc/sys/kernel/shm_next_id), read its key and size, give it an owner and
 * mode, remove it. Failures throw {@link NativeException} naming the segment. Stateless; the
 * shm_next_id route is not safe against another process creating a segment at the same moment,
 * which {@link #create} detects.
 */
public final class SysvShm {
    static final long SYS_SHMGET = 29, SYS_SHMCTL = 31;
    private static final int IPC_RMID = 0, IPC_SET = 1, IPC_STAT = 2, IPC_CREAT = 01000, IPC_EXCL = 02000;
    private static final int DS_SIZE = 112;

    private SysvShm() {}

    /** A segment's key and size, or null when no segment has this id. */
    public static long[] stat(int shmid) {
        Pointer ds = Sys.alloc(DS_SIZE);
        long r = Sys.raw(SYS_SHMCTL, shmid, IPC_STAT, ds.address(), 0, 0, 0);
        if (r < 0) {
            return null;
        }
        return new long[] {ds.getInt(0), ds.getLong(48)};
    }

    /**
     * Creates a segment of {@code size} bytes with key {@code key} (0: private) under id {@code shmid};
     * fails, removing what it made, when the kernel hands out another id.
     */
    public static void create(int key, int shmid, long size, int mode, int uid, int gid) {
        String what = "SysV shared memory key " + key + " shmid " + shmid;
        try {
            Files.writeString(Path.of("/proc/sys/kernel/shm_next_id"), Integer.toString(shmid));
        } catch (IOException e) {
            throw new UncheckedIOException("setting shm_next_id for " + what, e);
        }
        int got = (int) Sys.call("shmget", what, SYS_SHMGET, key, size, IPC_CREAT | IPC_EXCL | (mode & 0777));
        if (got != shmid) {
            Sys.raw(SYS_SHMCTL, got, IPC_RMID, 0, 0, 0, 0);
            throw new IllegalStateException(what + ": the kernel gave id " + got + " instead");
        }
        Pointer ds = Sys.alloc(DS_SIZE);
        Sys.call("shmctl(IPC_STAT)", what, SYS_SHMCTL, shmid, IPC_STAT, ds.address());
        ds.putInt(4, uid);
        ds.putInt(8, gid);
        ds.putShort(20, (short) (mode & 0777));
        Sys.call("shmctl(IPC_SET)", what, SYS_SHMCTL, shmid, IPC_SET, ds.address());
        Sys.keep(ds);
    }

    /** Marks the segment for removal (gone once the last process detaches it). */
    public static void remove(int shmid) {
        Sys.call("shmctl(IPC_RMID)", "shmid " + shmid, SYS_SHMCTL, shmid, IPC_RMID, 0);
    }
}
