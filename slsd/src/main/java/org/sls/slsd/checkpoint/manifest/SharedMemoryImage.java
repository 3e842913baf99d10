package org.sls.slsd.checkpoint.manifest;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * A file whose content the checkpoint holds, saved once per identity: shared memory (shared
 * anonymous mapping, memfd, POSIX shm), and files deleted while still open or mapped. Every
 * region of kind SHARED with the same identity maps it, a private mapping of a deleted file takes
 * the pages it did not copy from it, and every fd on it (kinds MEMFD, DELETED_FILE, POSIX_SHM)
 * opens it. Page i of the object is byte offset i*4096 of the file. Immutable.
 *
 * @param identity "major:minor:inode" as in /proc/PID/maps
 * @param path     e.g. "/dev/zero (deleted)", "/memfd:name (deleted)", "/dev/shm/name",
 *                 "/var/tmp/x (deleted)"
 * @param size     the file's size in bytes (for shared memory known only by its mappings: the
 *                 largest mapped extent)
 * @param seals    a memfd's seals (F_GET_SEALS), 0 otherwise
 * @param mode     st_mode permission bits of the file, 0 when unknown (manifests before they were kept)
 * @param uid      owner of the file
 * @param gid      group of the file
 * @param sysv     a SysV segment's key and id, null for any other kind
 */
public record SharedMemoryImage(String identity, String path, long size, long objectId, int seals, int mode,
                                int uid, int gid, @JsonInclude(JsonInclude.Include.NON_NULL) Sysv sysv) {

    /** Shared memory known by its mappings alone. */
    public SharedMemoryImage(String identity, String path, long size, long objectId) {
        this(identity, path, size, objectId, 0, 0, 0, 0, null);
    }

    /**
     * A SysV shared memory segment (mode, uid, gid and size are the segment's).
     *
     * @param removed marked for removal (IPC_RMID) while still attached
     */
    public record Sysv(int key, int id, boolean removed) {}

    /** "/memfd:NAME (deleted)" → NAME; null for any other path. */
    public String memfdName() {
        if (!path.startsWith("/memfd:")) {
            return null;
        }
        String n = path.substring("/memfd:".length());
        return n.endsWith(" (deleted)") ? n.substring(0, n.length() - " (deleted)".length()) : n;
    }

    /** Whether the file had been unlinked (a deleted file, a memfd, anonymous shared memory). */
    public boolean deleted() {
        return path.endsWith(" (deleted)");
    }
}
