package org.sls.slsd.checkpoint.manifest;

import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;

import java.util.List;

/**
 * One VMA as captured. Memory content lives in slos object {@code objectId} (0 = none: the region
 * is recreated without content, e.g. [vdso] or a shared file mapping whose content is the file):
 * page {@code i} of the object holds the page at {@code objectBase + i*4096}. For a
 * {@link Kind#SHARED} region the object is the shared memory identity's object and the page index is
 * the file offset / 4096. For private file mappings the object holds only the pages that differ
 * from the file; absent pages come from the file. Pages of anonymous memory absent from the object
 * read as zeros. Immutable.
 *
 * @param prot       "rwxp" as in /proc/PID/maps (p private, s shared)
 * @param identity   "major:minor:inode" of the backing file, "" when anonymous
 * @param pagesSaved pages written (or holes recorded) in this epoch
 * @param privatePages FILE_PRIVATE only: the address ranges ("0xSTART-0xEND") holding private copies
 *                   of file pages as of this epoch; such a page absent from the object is zeros, any
 *                   other page comes from the file
 */
public record RegionImage(@JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long start,
                          @JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long end,
                          String prot, Kind kind,
                          @JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long offset,
                          String path, String identity, List<String> vmFlags, long objectId,
                          @JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long objectBase,
                          long pagesSaved, List<String> privatePages) {

    /** A region without private-copy ranges (every kind but FILE_PRIVATE). */
    public RegionImage(long start, long end, String prot, Kind kind, long offset, String path, String identity,
                       List<String> vmFlags, long objectId, long objectBase, long pagesSaved) {
        this(start, end, prot, kind, offset, path, identity, vmFlags, objectId, objectBase, pagesSaved, List.of());
    }

    /** "0xSTART-0xEND", the form of {@link #privatePages} entries. */
    public static String range(long start, long end) {
        return Hex.format(start) + "-" + Hex.format(end);
    }

    /** Whether the page at {@code address} is a private copy (FILE_PRIVATE: not taken from the file). */
    public boolean privateCopy(long address) {
        if (privatePages == null) {
            return false;
        }
        for (String r : privatePages) {
            int dash = r.indexOf('-');
            if (Hex.parse(r.substring(0, dash)) <= address && address < Hex.parse(r.substring(dash + 1))) {
                return true;
            }
        }
        return false;
    }

    /** What a region is and therefore how it is saved and restored. */
    public enum Kind {
        /** private anonymous memory (including thread stacks made with mmap) */
        ANON,
        HEAP,
        /** the main thread's stack (MAP_GROWSDOWN) */
        STACK,
        /** private mapping of a file: only the pages that differ from the file are saved */
        FILE_PRIVATE,
        /** shared mapping of a regular file: the content is the file itself, nothing saved */
        FILE_SHARED,
        /** shared anonymous, memfd or SysV/POSIX shm memory: saved once per identity */
        SHARED,
        VDSO, VVAR, VVAR_VCLOCK, VSYSCALL
    }

    public long length() { return end - start; }

    public boolean special() {
        return kind == Kind.VDSO || kind == Kind.VVAR || kind == Kind.VVAR_VCLOCK || kind == Kind.VSYSCALL;
    }

    /** Index of the page holding {@code address} in this region's object. */
    public long pageIndex(long address) {
        return kind == Kind.SHARED ? (offset + (address - start)) >>> 12 : (address - objectBase) >>> 12;
    }
}
