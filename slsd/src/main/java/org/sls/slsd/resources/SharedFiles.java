package org.sls.slsd.resources;

import org.sls.slos.ObjectReader;
import org.sls.slsd.checkpoint.manifest.SharedMemoryImage;
import org.sls.slsd.linux.FdCalls;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.NativeException;
import org.sls.slsd.linux.Errno;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The files of one restore whose content the checkpoint holds ({@link SharedMemoryImage}): each is
 * made once in slsd, filled from the store, and then mapped and opened by every husk that had it,
 * so that they share it again. What stands for each:
 * <ul>
 *   <li>shared anonymous memory: a memfd "sls-shared";</li>
 *   <li>a memfd: a memfd of the same name, with its seals (added by {@link #seal()} once every
 *       mapping is in place, since a write seal forbids writable shared mappings);</li>
 *   <li>a POSIX shm object (/dev/shm/NAME): the object itself when it still exists (the live one,
 *       as for any file), recreated at its path with the checkpoint's content and mode when it is
 *       gone (after a reboot);</li>
 *   <li>a deleted file: a file created under its name in its directory and unlinked at once, or an
 *       O_TMPFILE there when the name is taken, or in /tmp when the directory is gone; same mode,
 *       owner and content.</li>
 * </ul>
 * slsd's fds are closed by {@link #close()}, once every husk holds what it needs. Not thread-safe:
 * one per restore run, used on the restore's tracer thread.
 */
public final class SharedFiles implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SharedFiles.class);
    private static final String DELETED = " (deleted)";

    private final Map<String, SharedMemoryImage> images = new HashMap<>();
    private final ObjectReader reader;
    private final Map<String, Integer> fds = new LinkedHashMap<>();

    public SharedFiles(List<SharedMemoryImage> images, ObjectReader reader) {
        for (SharedMemoryImage s : images) {
            this.images.put(s.identity(), s);
        }
        this.reader = reader;
    }

    /** The saved file of this identity, if the checkpoint holds one. */
    public Optional<SharedMemoryImage> image(String identity) {
        return Optional.ofNullable(images.get(identity));
    }

    /**
     * slsd's read-write fd on the file standing for {@code identity}, made and filled the first
     * time. Without a saved image (shared memory the checkpoint never saw content for) a memfd of
     * {@code size} bytes.
     */
    public int fd(String identity, long size) {
        Integer fd = fds.get(identity);
        if (fd == null) {
            SharedMemoryImage img = images.get(identity);
            fd = img == null ? anonymous(identity, size) : create(img);
            fds.put(identity, fd);
        }
        return fd;
    }

    private static int anonymous(String identity, long size) {
        int fd = FdCalls.memfdCreate("sls-shared", FdCalls.MFD_CLOEXEC);
        FdCalls.ftruncate(fd, size, "shared memory " + identity);
        return fd;
    }

    private int create(SharedMemoryImage img) {
        String what = img.path() + " (" + img.identity() + ")";
        String memfd = img.memfdName();
        int fd;
        boolean fill = true;
        if (memfd != null) {
            boolean sealable = img.seals() != FdCalls.F_SEAL_SEAL;
            fd = FdCalls.memfdCreate(memfd, FdCalls.MFD_CLOEXEC | (sealable ? FdCalls.MFD_ALLOW_SEALING : 0));
        } else if (img.path().startsWith("/dev/zero") || img.path().startsWith("[") || img.identity().startsWith("anon:")) {
            fd = FdCalls.memfdCreate("sls-shared", FdCalls.MFD_CLOEXEC);
        } else if (!img.deleted()) {
            Path p = Path.of(img.path());
            if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                // the live object (its identity was checked before the restore began): left as it is
                fd = FdCalls.open(img.path(), FdCalls.O_RDWR | FdCalls.O_CLOEXEC);
                fill = false;
            } else {
                log.info("{} is gone: recreated with the checkpoint's content", img.path());
                fd = FdCalls.open(img.path(), FdCalls.O_RDWR | FdCalls.O_CLOEXEC | FdCalls.O_CREAT | FdCalls.O_EXCL,
                        img.mode());
                owner(fd, img, what);
            }
        } else {
            fd = unlinked(img);
            owner(fd, img, what);
        }
        try {
            if (fill) {
                FdCalls.ftruncate(fd, img.size(), what);
                fill(fd, img, what);
            }
        } catch (RuntimeException e) {
            Linux.close(fd);
            throw e;
        }
        return fd;
    }

    private static void owner(int fd, SharedMemoryImage img, String what) {
        FdCalls.fchmod(fd, img.mode(), what);
        FdCalls.fchown(fd, img.uid(), img.gid(), what);
    }

    /** A deleted file again: created under its name and unlinked, else an O_TMPFILE beside it or in /tmp. */
    private static int unlinked(SharedMemoryImage img) {
        String name = img.path().substring(0, img.path().length() - DELETED.length());
        Path dir = Path.of(name).getParent();
        if (dir != null && Files.isDirectory(dir)) {
            try {
                int fd = FdCalls.open(name, FdCalls.O_RDWR | FdCalls.O_CLOEXEC | FdCalls.O_CREAT | FdCalls.O_EXCL, 0600);
                FdCalls.unlink(name);
                return fd;
            } catch (NativeException e) {
                if (e.errno() != Errno.EEXIST) {
                    log.info("{}: cannot be created again in {} ({}): an O_TMPFILE stands for it", img.path(), dir,
                            e.getMessage());
                }
            }
            try {
                return FdCalls.open(dir.toString(), FdCalls.O_RDWR | FdCalls.O_CLOEXEC | FdCalls.O_TMPFILE, 0600);
            } catch (NativeException e) {
                log.info("{}: no O_TMPFILE in {} ({}): made in /tmp", img.path(), dir, e.getMessage());
            }
        } else {
            log.info("{}: its directory is gone: the file is made in /tmp", img.path());
        }
        return FdCalls.open("/tmp", FdCalls.O_RDWR | FdCalls.O_CLOEXEC | FdCalls.O_TMPFILE, 0600);
    }

    private void fill(int fd, SharedMemoryImage img, String what) {
        if (img.objectId() == 0) {
            return;
        }
        ByteBuffer page = ByteBuffer.allocateDirect(4096);
        try (FileChannel ch = FileChannel.open(Path.of("/proc/self/fd/" + fd), StandardOpenOption.WRITE)) {
            for (long p : reader.pages(img.objectId())) {
                long at = p << 12;
                if (at >= img.size()) {
                    break;
                }
                page.clear();
                reader.readPage(img.objectId(), p, page);
                page.flip();
                page.limit((int) Math.min(4096, img.size() - at));
                while (page.hasRemaining()) {
                    ch.write(page, at + page.position());
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("writing the content of " + what, e);
        }
    }

    /** Adds the memfds' seals, once every mapping is in place. */
    public void seal() {
        for (Map.Entry<String, Integer> e : fds.entrySet()) {
            SharedMemoryImage img = images.get(e.getKey());
            if (img != null && img.memfdName() != null && img.seals() != 0 && img.seals() != FdCalls.F_SEAL_SEAL) {
                FdCalls.fcntl(e.getValue(), FdCalls.F_ADD_SEALS, img.seals(), img.path() + " (seals 0x"
                        + Integer.toHexString(img.seals()) + ")");
            }
        }
    }

    @Override
    public void close() {
        for (int fd : fds.values()) {
            Linux.close(fd);
        }
        fds.clear();
    }
}
