package org.sls.slsd.checkpoint;

import org.sls.slsd.linux.NetworkLock;

import java.util.List;

/**
 * The network lock behind which {@code checkpoint --kill} ends a partition's processes (CRIU's
 * network lock for a dump before migration): while it stands no packet of the given connections
 * passes either way, so the peers outside the partition hear neither the FIN/RST of the kill nor
 * anything else until the restore lifts it. Called on the partition's ptrace thread, in this
 * order: {@link #install} before the connections' state is read, then {@link #committed} once the
 * epoch is durable, or {@link #remove} when the checkpoint fails before the kill. Implementations
 * need not be thread-safe.
 */
public interface KillLock {
    /** Installs the lock (replacing any earlier one of the partition) holding {@code connections}. */
    void install(List<NetworkLock.Connection> connections);

    /** Marks the lock as belonging to the durable {@code epoch}, whose restore resumes the connections and lifts it. */
    void committed(long epoch, List<NetworkLock.Connection> connections);

    /** Removes the lock: the checkpoint failed and the processes run on. */
    void remove();
}
