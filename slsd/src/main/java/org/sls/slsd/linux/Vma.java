package org.sls.slsd.linux;

import java.util.Set;

/**
 * One line of /proc/PID/maps (plus its smaps VmFlags when read from smaps). Immutable.
 *
 * @param path the pathname column: a file, "[heap]", "[stack]", "[vdso]", "/dev/zero (deleted)",
 *             "/memfd:x (deleted)" or "" for anonymous memory
 */
public record Vma(long start, long end, String perms, long offset, int devMajor, int devMinor, long inode,
                  String path, Set<String> vmFlags) {
    public long length() { return end - start; }
    public boolean readable() { return perms.charAt(0) == 'r'; }
    public boolean writable() { return perms.charAt(1) == 'w'; }
    public boolean executable() { return perms.charAt(2) == 'x'; }
    public boolean shared() { return perms.charAt(3) == 's'; }
    public boolean special() { return path.startsWith("[") && !path.equals("[heap]") && !path.startsWith("[stack")
            && !path.startsWith("[anon"); }
    /** A SysV segment's inode is its shmid, and the first segment of a boot has id 0. */
    public boolean fileBacked() { return inode != 0 || path.startsWith("/SYSV"); }
    /** "dev:inode" identity of the backing object, as shown in maps (e.g. "fd:01:1234"). */
    public String identity() { return Integer.toHexString(devMajor) + ":" + Integer.toHexString(devMinor) + ":" + inode; }
    public boolean has(String vmFlag) { return vmFlags.contains(vmFlag); }

    @Override
    public String toString() {
        return Long.toHexString(start) + "-" + Long.toHexString(end) + " " + perms + " " + path;
    }
}
