package org.sls.slsd.control;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.reflect.Field;
import java.nio.channels.SocketChannel;
import java.util.OptionalInt;

/**
 * The file descriptor number behind an accepted {@link SocketChannel}, which the JDK keeps to
 * itself: slsd needs it for {@code SO_PEERCRED}'s pid (the JDK's {@code SO_PEERCRED} option gives
 * only user and group) and for the inode of its end of the connection, which is how a
 * self-checkpoint finds the caller's fd of that very connection. Read with
 * {@code sun.misc.Unsafe} (module {@code jdk.unsupported}, open to every class) from the
 * channel's {@code fdVal} field, so no {@code --add-opens} is needed; when a JDK lacks the field,
 * the result is empty and slsd goes on without pids (self-checkpoints are then refused).
 * Thread-safe.
 */
final class ConnectionFd {
    private static final Logger log = LoggerFactory.getLogger(ConnectionFd.class);
    private static final sun.misc.Unsafe UNSAFE = unsafe();
    private static volatile boolean warned;

    private ConnectionFd() {}

    private static sun.misc.Unsafe unsafe() {
        try {
            Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            return (sun.misc.Unsafe) f.get(null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /** The fd of {@code channel}, or empty when this JDK does not let slsd see it. */
    static OptionalInt of(SocketChannel channel) {
        try {
            if (UNSAFE != null) {
                Field f = channel.getClass().getDeclaredField("fdVal");
                if (f.getType() == int.class) {
                    return OptionalInt.of(UNSAFE.getInt(channel, UNSAFE.objectFieldOffset(f)));
                }
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            // below
        }
        if (!warned) {
            warned = true;
            log.warn("this JDK ({}) hides the fd of a socket channel: callers' pids are unknown and self-checkpoints refused",
                    System.getProperty("java.version"));
        }
        return OptionalInt.empty();
    }
}
