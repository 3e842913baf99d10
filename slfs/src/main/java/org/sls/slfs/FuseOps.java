package org.sls.slfs;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;
import jnr.ffi.Pointer;
import jnr.ffi.Struct;
import jnr.ffi.types.dev_t;
import jnr.ffi.types.gid_t;
import jnr.ffi.types.mode_t;
import jnr.ffi.types.off_t;
import jnr.ffi.types.size_t;
import jnr.ffi.types.uid_t;
import org.sls.slos.StoreException;
import org.sls.slos.StoreUsage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import ru.serce.jnrfuse.FuseFillDir;
import ru.serce.jnrfuse.FuseStubFS;
import ru.serce.jnrfuse.struct.FileStat;
import ru.serce.jnrfuse.struct.FuseFileInfo;
import ru.serce.jnrfuse.struct.Statvfs;
import ru.serce.jnrfuse.struct.Timespec;

/**
 * The FUSE face of slfs (libfuse2 high-level API through jnr-fuse, multithreaded): parses each
 * path into the mount's namespace and calls the partition tree or the snapshot views.
 * <pre>
 *   /                         partitions of the store and .snapshots
 *   /PART/...                 live files of PART           ({@link PartitionFs})
 *   /.snapshots/PART/EPOCH/   files/ ({@link SnapshotTree}), manifest.json, PID/{state.json,maps,core}
 * </pre>
 * Every callback turns {@link FsException} into its errno, a full store into ENOSPC and anything
 * else into EIO (logged): nothing is thrown into native code. Thread-safe.
 */
final class FuseOps extends FuseStubFS {
    private static final Logger log = LoggerFactory.getLogger(FuseOps.class);
    static final String SNAPSHOTS = ".snapshots";
    private static final int O_ACCMODE = 3;
    private static final long UTIME_NOW = (1L << 30) - 1;
    private static final long UTIME_OMIT = (1L << 30) - 2;
    private static final int DIR_RO = InodeRecord.S_IFDIR | 0555;

    private final Slfs slfs;
    private final Map<Long, OpenFile> handles = new ConcurrentHashMap<>();
    private final AtomicLong nextHandle = new AtomicLong(1);

    FuseOps(Slfs slfs) {
        this.slfs = slfs;
        // flag_nullpath_ok: with hard_remove, calls on a file unlinked while open come without a
        // path; slfs works from the handle, so libfuse must pass them on instead of failing them.
        // The flags are bit fields in the int after the function pointers; jnr-fuse declares but
        // cannot set them.
        jnr.ffi.Pointer mem = Struct.getMemory(fuseOperations);
        long off = flagsOffset(fuseOperations.flag_nullpath_ok);
        mem.putByte(off, (byte) (mem.getByte(off) | 1));
    }

    /** Offset of the flag bit field: 38 function pointers precede it in libfuse 2.9's struct fuse_operations. */
    private static long flagsOffset(Object member) {
        try {
            java.lang.reflect.Method m = Class.forName("jnr.ffi.Struct$AbstractMember").getDeclaredMethod("offset");
            m.setAccessible(true);
            return ((Number) m.invoke(member)).longValue();
        } catch (ReflectiveOperationException | RuntimeException e) {
            return 38L * 8;
        }
    }

    // ---- path parsing -------------------------------------------------------------------------

    private enum Kind { ROOT, SNAP_ROOT, SNAP_PART, SNAP_EPOCH, SNAP_FILES, SNAP_PID, BYTES, LIVE }

    private record Where(Kind kind, String part, String rel, long epoch, int pid, String name) {}

    private Where parse(String path) {
        if (path == null || path.equals("/")) {
            return new Where(Kind.ROOT, null, "", 0, 0, null);
        }
        String p = path.substring(1);
        int slash = p.indexOf('/');
        String first = slash < 0 ? p : p.substring(0, slash);
        if (!first.equals(SNAPSHOTS)) {
            if (!slfs.isPartition(first)) {
                throw new FsException(Errno.ENOENT, "path " + path + ": no partition " + first);
            }
            return new Where(Kind.LIVE, first, slash < 0 ? "" : p.substring(slash), 0, 0, null);
        }
        String[] c = p.split("/", 5);
        if (c.length == 1) {
            return new Where(Kind.SNAP_ROOT, null, "", 0, 0, null);
        }
        String part = c[1];
        if (!slfs.isPartition(part)) {
            throw new FsException(Errno.ENOENT, "path " + path + ": no partition " + part);
        }
        if (c.length == 2) {
            return new Where(Kind.SNAP_PART, part, "", 0, 0, null);
        }
        long epoch = number(c[2], path);
        if (!slfs.hasEpoch(part, epoch)) {
            throw new FsException(Errno.ENOENT, "path " + path + ": partition " + part + " has no epoch " + epoch);
        }
        if (c.length == 3) {
            return new Where(Kind.SNAP_EPOCH, part, "", epoch, 0, null);
        }
        if (c[3].equals("files")) {
            return new Where(Kind.SNAP_FILES, part, c.length == 5 ? "/" + c[4] : "", epoch, 0, null);
        }
        if (c[3].equals("manifest.json") && c.length == 4) {
            return new Where(Kind.BYTES, part, "", epoch, 0, "manifest.json");
        }
        int pid = (int) number(c[3], path);
        if (!slfs.content().pids(part, epoch).contains(pid)) {
            throw new FsException(Errno.ENOENT, "path " + path + ": epoch " + epoch + " of " + part + " has no process " + pid);
        }
        if (c.length == 4) {
            return new Where(Kind.SNAP_PID, part, "", epoch, pid, null);
        }
        if (c.length == 5 && SnapshotContent.FILES.contains(c[4])) {
            return new Where(Kind.BYTES, part, "", epoch, pid, c[4]);
        }
        throw new FsException(Errno.ENOENT, "path " + path + ": no such file");
    }

    private static long number(String s, String path) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new FsException(Errno.ENOENT, "path " + path + ": '" + s + "' is not a number");
        }
    }

    private byte[] bytes(Where w, String path) {
        byte[] b = slfs.contentBytes(w.part(), w.epoch(), w.pid(), w.name());
        if (b == null) {
            throw new FsException(Errno.ENOENT, "path " + path + ": absent");
        }
        return b;
    }

    private static long virtualIno(String path) {
        return 0x4000_0000_0000_0000L | (path.hashCode() & 0xffff_ffffL);
    }

    private static void readOnly(Where w, String path) {
        if (w.kind() != Kind.LIVE) {
            throw new FsException(Errno.EROFS, "path " + path + ": read-only (not a partition's live files)");
        }
    }

    private Where live(String path) {
        Where w = parse(path);
        readOnly(w, path);
        return w;
    }

    private Where sameLive(String from, String to) {
        Where a = live(from);
        Where b = live(to);
        if (!a.part().equals(b.part())) {
            throw new FsException(Errno.EXDEV, "paths " + from + " and " + to + ": in different partitions");
        }
        return b;
    }

    private int guard(String op, String path, IntSupplier f) {
        try {
            return f.getAsInt();
        } catch (FsException e) {
            if (log.isTraceEnabled()) {
                log.trace("slfs: {} {}: {}", op, path, e.getMessage());
            }
            return -e.errno();
        } catch (StoreException e) {
            if (e.kind() == StoreException.Kind.FULL) {
                log.warn("slfs: {} {}: {}", op, path, e.getMessage());
                return -Errno.ENOSPC;
            }
            log.error("slfs: {} {} failed: {}", op, path, e.getMessage(), e);
            return -Errno.EIO;
        } catch (RuntimeException | Error e) {
            log.error("slfs: {} {} failed", op, path, e);
            return -Errno.EIO;
        }
    }

    private int uid() {
        return getContext().uid.intValue();
    }

    private int gid() {
        return getContext().gid.intValue();
    }

    // ---- attributes ---------------------------------------------------------------------------

    private static void fill(FileStat st, InodeRecord r) {
        st.st_mode.set(r.mode());
        st.st_ino.set(r.ino());
        st.st_nlink.set(r.nlink());
        st.st_uid.set(r.uid());
        st.st_gid.set(r.gid());
        st.st_rdev.set(r.rdev());
        st.st_size.set(r.size());
        st.st_blksize.set(PartitionFs.PAGE);
        st.st_blocks.set((r.size() + 511) / 512);
        st.st_atim.tv_sec.set(r.atimeNs() / 1_000_000_000L);
        st.st_atim.tv_nsec.set(r.atimeNs() % 1_000_000_000L);
        st.st_mtim.tv_sec.set(r.mtimeNs() / 1_000_000_000L);
        st.st_mtim.tv_nsec.set(r.mtimeNs() % 1_000_000_000L);
        st.st_ctim.tv_sec.set(r.ctimeNs() / 1_000_000_000L);
        st.st_ctim.tv_nsec.set(r.ctimeNs() % 1_000_000_000L);
    }

    private InodeRecord virtualDir(String path, int mode) {
        long t = slfs.mountedAtNs();
        return new InodeRecord(virtualIno(path), mode, 0, 0, 2, 0, 0, t, t, t, null);
    }

    private InodeRecord attr(String path) {
        Where w = parse(path);
        return switch (w.kind()) {
            case ROOT -> virtualDir(path, InodeRecord.S_IFDIR | 0755);
            case SNAP_ROOT, SNAP_PART, SNAP_EPOCH, SNAP_PID -> virtualDir(path, DIR_RO);
            case SNAP_FILES -> {
                InodeRecord r = slfs.snapshotTree(w.part(), w.epoch()).resolve(w.rel());
                // the snapshot is read-only whatever the modes say
                yield new InodeRecord(r.ino(), r.mode() & ~0222, r.uid(), r.gid(), r.nlink(), r.rdev(), r.size(),
                        r.atimeNs(), r.mtimeNs(), r.ctimeNs(), r.target());
            }
            case BYTES -> {
                long t = slfs.mountedAtNs();
                yield new InodeRecord(virtualIno(path), InodeRecord.S_IFREG | 0444, 0, 0, 1, 0, bytes(w, path).length, t, t, t, null);
            }
            case LIVE -> slfs.fs(w.part()).getattr(w.rel());
        };
    }

    @Override
    public int getattr(String path, FileStat stat) {
        return guard("getattr", path, () -> {
            fill(stat, attr(path));
            return 0;
        });
    }

    @Override
    public int fgetattr(String path, FileStat stat, FuseFileInfo fi) {
        return guard("fgetattr", path, () -> {
            OpenFile h = handles.get(fi.fh.get());
            if (h instanceof OpenFile.Live l) {
                fill(stat, l.fs().getattr(l));
                return 0;
            }
            fill(stat, attr(path));
            return 0;
        });
    }

    @Override
    public int access(String path, int mask) {
        return guard("access", path, () -> {
            attr(path);
            return 0;
        });
    }

    @Override
    public int readlink(String path, Pointer buf, @size_t long size) {
        return guard("readlink", path, () -> {
            Where w = parse(path);
            String target;
            if (w.kind() == Kind.LIVE) {
                target = slfs.fs(w.part()).readlink(w.rel());
            } else if (w.kind() == Kind.SNAP_FILES) {
                InodeRecord r = slfs.snapshotTree(w.part(), w.epoch()).resolve(w.rel());
                if (r.target() == null) {
                    throw new FsException(Errno.EINVAL, "path " + path + ": not a symbolic link");
                }
                target = r.target();
            } else {
                throw new FsException(Errno.EINVAL, "path " + path + ": not a symbolic link");
            }
            byte[] b = target.getBytes(StandardCharsets.UTF_8);
            int n = (int) Math.min(b.length, size - 1);
            buf.put(0, b, 0, n);
            buf.putByte(n, (byte) 0);
            return 0;
        });
    }

    @Override
    public int statfs(String path, Statvfs st) {
        return guard("statfs", path, () -> {
            StoreUsage u = slfs.store().usage();
            long free = Math.max(0, u.freeBytes() - slfs.dirtyBytes());
            st.f_bsize.set(PartitionFs.PAGE);
            st.f_frsize.set(PartitionFs.PAGE);
            st.f_blocks.set(u.totalBytes() / PartitionFs.PAGE);
            st.f_bfree.set(free / PartitionFs.PAGE);
            st.f_bavail.set(free / PartitionFs.PAGE);
            st.f_files.set(1L << 32);
            st.f_ffree.set(1L << 31);
            st.f_favail.set(1L << 31);
            st.f_namemax.set(255);
            return 0;
        });
    }

    // ---- directories --------------------------------------------------------------------------

    @Override
    public int opendir(String path, FuseFileInfo fi) {
        return 0;
    }

    @Override
    public int releasedir(String path, FuseFileInfo fi) {
        return 0;
    }

    @Override
    public int readdir(String path, Pointer buf, FuseFillDir filter, @off_t long offset, FuseFileInfo fi) {
        return guard("readdir", path, () -> {
            Where w = parse(path);
            List<String> names = new ArrayList<>();
            switch (w.kind()) {
                case ROOT -> {
                    names.addAll(slfs.partitionNames());
                    names.add(SNAPSHOTS);
                }
                case SNAP_ROOT -> names.addAll(slfs.partitionNames());
                case SNAP_PART -> slfs.store().epochs(w.part()).forEach(e -> names.add(Long.toString(e.epoch())));
                case SNAP_EPOCH -> {
                    names.add("files");
                    if (slfs.contentBytes(w.part(), w.epoch(), 0, "manifest.json") != null) {
                        names.add("manifest.json");
                    }
                    slfs.content().pids(w.part(), w.epoch()).forEach(p -> names.add(Integer.toString(p)));
                }
                case SNAP_PID -> {
                    for (String f : SnapshotContent.FILES) {
                        if (slfs.contentBytes(w.part(), w.epoch(), w.pid(), f) != null) {
                            names.add(f);
                        }
                    }
                }
                case SNAP_FILES -> names.addAll(slfs.snapshotTree(w.part(), w.epoch()).readdir(w.rel()));
                case LIVE -> names.addAll(slfs.fs(w.part()).readdir(w.rel()));
                case BYTES -> throw new FsException(Errno.ENOTDIR, "path " + path + ": not a directory");
            }
            filter.apply(buf, ".", null, 0);
            filter.apply(buf, "..", null, 0);
            for (String n : names) {
                if (filter.apply(buf, n, null, 0) != 0) {
                    break;
                }
            }
            return 0;
        });
    }

    @Override
    public int mkdir(String path, @mode_t long mode) {
        return guard("mkdir", path, () -> {
            Where w = live(path);
            slfs.fs(w.part()).mkdir(w.rel(), (int) mode, uid(), gid());
            return 0;
        });
    }

    @Override
    public int rmdir(String path) {
        return guard("rmdir", path, () -> {
            Where w = live(path);
            slfs.fs(w.part()).rmdir(w.rel());
            return 0;
        });
    }

    @Override
    public int fsyncdir(String path, FuseFileInfo fi) {
        return guard("fsyncdir", path, () -> {
            Where w = parse(path);
            if (w.kind() == Kind.LIVE) {
                slfs.fs(w.part()).sync();
            }
            return 0;
        });
    }

    // ---- names --------------------------------------------------------------------------------

    @Override
    public int mknod(String path, @mode_t long mode, @dev_t long rdev) {
        return guard("mknod", path, () -> {
            Where w = live(path);
            slfs.fs(w.part()).mknod(w.rel(), (int) mode, rdev, uid(), gid());
            return 0;
        });
    }

    @Override
    public int unlink(String path) {
        return guard("unlink", path, () -> {
            Where w = live(path);
            slfs.fs(w.part()).unlink(w.rel());
            return 0;
        });
    }

    @Override
    public int symlink(String oldpath, String newpath) {
        return guard("symlink", newpath, () -> {
            Where w = live(newpath);
            slfs.fs(w.part()).symlink(oldpath, w.rel(), uid(), gid());
            return 0;
        });
    }

    @Override
    public int rename(String oldpath, String newpath) {
        return guard("rename", oldpath + " -> " + newpath, () -> {
            Where to = sameLive(oldpath, newpath);
            slfs.fs(to.part()).rename(parse(oldpath).rel(), to.rel());
            return 0;
        });
    }

    @Override
    public int link(String oldpath, String newpath) {
        return guard("link", oldpath + " -> " + newpath, () -> {
            Where to = sameLive(oldpath, newpath);
            slfs.fs(to.part()).link(parse(oldpath).rel(), to.rel());
            return 0;
        });
    }

    @Override
    public int chmod(String path, @mode_t long mode) {
        return guard("chmod", path, () -> {
            Where w = live(path);
            slfs.fs(w.part()).chmod(w.rel(), (int) mode);
            return 0;
        });
    }

    @Override
    public int chown(String path, @uid_t long uid, @gid_t long gid) {
        return guard("chown", path, () -> {
            Where w = live(path);
            slfs.fs(w.part()).chown(w.rel(), (int) uid, (int) gid);
            return 0;
        });
    }

    private static long timeOf(Timespec t) {
        long nsec = t.tv_nsec.longValue();
        if (nsec == UTIME_OMIT) {
            return Long.MIN_VALUE;
        }
        if (nsec == UTIME_NOW) {
            return PartitionFs.nowNs();
        }
        return t.tv_sec.get() * 1_000_000_000L + nsec;
    }

    @Override
    public int utimens(String path, Timespec[] timespec) {
        return guard("utimens", path, () -> {
            Where w = live(path);
            long a = timespec == null ? PartitionFs.nowNs() : timeOf(timespec[0]);
            long m = timespec == null ? PartitionFs.nowNs() : timeOf(timespec[1]);
            slfs.fs(w.part()).utimens(w.rel(), a, m);
            return 0;
        });
    }

    @Override
    public int truncate(String path, @off_t long size) {
        return guard("truncate", path, () -> {
            Where w = live(path);
            slfs.fs(w.part()).truncate(w.rel(), size);
            return 0;
        });
    }

    // ---- files --------------------------------------------------------------------------------

    private long register(OpenFile f, FuseFileInfo fi) {
        long id = nextHandle.getAndIncrement();
        handles.put(id, f);
        fi.fh.set(id);
        return id;
    }

    private OpenFile handle(FuseFileInfo fi, String path) {
        OpenFile f = handles.get(fi.fh.get());
        if (f == null) {
            throw new FsException(Errno.EBADF, "path " + path + ": unknown file handle " + fi.fh.get());
        }
        return f;
    }

    private OpenFile.Live liveHandle(FuseFileInfo fi, String path) {
        if (handle(fi, path) instanceof OpenFile.Live l) {
            return l;
        }
        throw new FsException(Errno.EROFS, "path " + path + ": read-only");
    }

    @Override
    public int create(String path, @mode_t long mode, FuseFileInfo fi) {
        return guard("create", path, () -> {
            Where w = live(path);
            register(slfs.fs(w.part()).create(w.rel(), (int) mode, uid(), gid()), fi);
            return 0;
        });
    }

    @Override
    public int open(String path, FuseFileInfo fi) {
        return guard("open", path, () -> {
            Where w = parse(path);
            boolean writing = (fi.flags.get() & O_ACCMODE) != 0;
            switch (w.kind()) {
                case LIVE -> register(slfs.fs(w.part()).open(w.rel()), fi);
                case SNAP_FILES -> {
                    if (writing) {
                        throw new FsException(Errno.EROFS, "path " + path + ": snapshots are read-only");
                    }
                    SnapshotTree t = slfs.snapshotTree(w.part(), w.epoch());
                    register(new OpenFile.Snap(t, t.resolve(w.rel())), fi);
                }
                case BYTES -> {
                    if (writing) {
                        throw new FsException(Errno.EROFS, "path " + path + ": snapshots are read-only");
                    }
                    register(new OpenFile.Bytes(bytes(w, path)), fi);
                }
                default -> throw new FsException(Errno.EISDIR, "path " + path + ": is a directory");
            }
            return 0;
        });
    }

    @Override
    public int read(String path, Pointer buf, @size_t long size, @off_t long offset, FuseFileInfo fi) {
        return guard("read", path, () -> {
            OpenFile f = handle(fi, path);
            if (f instanceof OpenFile.Live l) {
                return l.fs().read(l, buf, size, offset);
            }
            if (f instanceof OpenFile.Snap s) {
                return s.tree().read(s.inode(), buf, size, offset);
            }
            byte[] b = ((OpenFile.Bytes) f).data();
            if (offset >= b.length) {
                return 0;
            }
            int n = (int) Math.min(size, b.length - offset);
            buf.put(0, b, (int) offset, n);
            return n;
        });
    }

    @Override
    public int write(String path, Pointer buf, @size_t long size, @off_t long offset, FuseFileInfo fi) {
        return guard("write", path, () -> {
            OpenFile.Live l = liveHandle(fi, path);
            return l.fs().write(l, buf, size, offset);
        });
    }

    @Override
    public int ftruncate(String path, @off_t long size, FuseFileInfo fi) {
        return guard("ftruncate", path, () -> {
            OpenFile.Live l = liveHandle(fi, path);
            l.fs().truncate(l, size);
            return 0;
        });
    }

    @Override
    public int fallocate(String path, int mode, @off_t long off, @off_t long length, FuseFileInfo fi) {
        return guard("fallocate", path, () -> {
            if (mode != 0) {
                return -Errno.EOPNOTSUPP;
            }
            OpenFile.Live l = liveHandle(fi, path);
            if (l.fs().getattr(l).size() < off + length) {
                l.fs().truncate(l, off + length);
            }
            return 0;
        });
    }

    @Override
    public int flush(String path, FuseFileInfo fi) {
        return 0;
    }

    @Override
    public int fsync(String path, int isdatasync, FuseFileInfo fi) {
        return guard("fsync", path, () -> {
            if (handles.get(fi.fh.get()) instanceof OpenFile.Live l) {
                l.fs().sync();
            }
            return 0;
        });
    }

    @Override
    public int release(String path, FuseFileInfo fi) {
        return guard("release", path, () -> {
            OpenFile f = handles.remove(fi.fh.get());
            if (f instanceof OpenFile.Live l) {
                l.fs().release(l);
            }
            return 0;
        });
    }

    // ---- extended attributes: none are kept ------------------------------------------------------

    @Override
    public int getxattr(String path, String name, Pointer value, @size_t long size) {
        return -Errno.ENODATA;
    }

    @Override
    public int listxattr(String path, Pointer list, @size_t long size) {
        return 0;
    }

    @Override
    public int setxattr(String path, String name, Pointer value, @size_t long size, int flags) {
        return -Errno.EOPNOTSUPP;
    }

    @Override
    public int removexattr(String path, String name) {
        return -Errno.ENODATA;
    }
}
