package org.sls.slos;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Exclusive lock on a store: an fcntl lock on {@code METADIR/slos.lock}, which holds the owner's
 * pid so that a second opener can say who has it. A separate file because POSIX locks vanish
 * when the process closes any descriptor of the locked file, and the data file is opened
 * several times. Thread-safe (immutable once acquired).
 */
final class StoreLock implements AutoCloseable {
    private final FileChannel channel;
    private final FileLock lock;

    private StoreLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    static StoreLock acquire(String store, Path metaDir) {
        Path f = metaDir.resolve(Layout.LOCK_FILE);
        FileChannel ch;
        try {
            ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new StoreException(StoreException.Kind.IO, "store " + store + ": cannot open lock file " + f + ": " + e, e);
        }
        FileLock l;
        try {
            l = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            close(ch);
            throw new StoreException(StoreException.Kind.LOCKED, "store " + store + " is already open in this process (lock " + f + ")");
        } catch (IOException e) {
            close(ch);
            throw new StoreException(StoreException.Kind.IO, "store " + store + ": cannot lock " + f + ": " + e, e);
        }
        if (l == null) {
            close(ch);
            String pid;
            try {
                pid = Files.readString(f, StandardCharsets.UTF_8).trim();
            } catch (IOException e) {
                pid = "unknown";
            }
            throw new StoreException(StoreException.Kind.LOCKED, "store " + store + " is already open by another process (pid "
                    + (pid.isEmpty() ? "unknown" : pid) + ")");
        }
        try {
            ch.truncate(0);
            ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)), 0);
            ch.force(false);
        } catch (IOException e) {
            close(ch);
            throw new StoreException(StoreException.Kind.IO, "store " + store + ": cannot write lock file " + f + ": " + e, e);
        }
        return new StoreLock(ch, l);
    }

    private static void close(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing locked through it
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException ignored) {
            // closing the channel releases it anyway
        }
        close(channel);
    }
}
