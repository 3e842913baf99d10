package org.sls.slsd;

import org.sls.slos.Slos;
import org.sls.slsd.checkpoint.KillLock;
import org.sls.slsd.linux.NetworkLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The network locks of one store's partitions ({@code checkpoint --kill}): one nftables table per
 * partition, {@code inet sls_lock_<first 8 hex digits of the store's UUID>_<partition>}, so that
 * two slsd on one machine never touch each other's, with the comment
 * {@code "slsd network lock: partition P epoch E"} ({@code epoch pending} until the epoch is
 * durable). The restore of epoch E finds the lock of E in place, repairs the connections and lifts
 * it; any successful restore of the partition, its deletion, or slsd's start when the lock is
 * stale (partition gone, epoch pending or no longer the newest) lifts it too. Thread-safe (every
 * change is one nft transaction).
 */
final class NetworkLocks {
    private static final Logger log = LoggerFactory.getLogger(NetworkLocks.class);
    private static final Pattern COMMENT = Pattern.compile("slsd network lock: partition (\\S+) epoch (\\d+|pending)");

    private final Slos store;
    private final String prefix;

    NetworkLocks(Slos store) {
        this.store = store;
        this.prefix = NetworkLock.PREFIX + store.uuid().toString().substring(0, 8) + "_";
    }

    /** The lock table of a partition. */
    String table(String partition) {
        return prefix + partition;
    }

    /** The lock a checkpoint --kill of {@code partition} stands behind. */
    KillLock forKill(String partition) {
        String table = table(partition);
        return new KillLock() {
            @Override
            public void install(List<NetworkLock.Connection> connections) {
                NetworkLock.install(table, comment(partition, "pending"), connections);
            }

            @Override
            public void committed(long epoch, List<NetworkLock.Connection> connections) {
                NetworkLock.install(table, comment(partition, Long.toString(epoch)), connections);
                log.info("partition {}: network lock {} holds epoch {}'s {} connection(s) to outside peers until its "
                        + "restore ({})", partition, table, epoch, connections.size(), connections);
            }

            @Override
            public void remove() {
                if (NetworkLock.remove(table)) {
                    log.info("partition {}: network lock {} removed", partition, table);
                }
            }
        };
    }

    /** The epoch whose connections the partition's lock holds, when a committed lock stands. */
    OptionalLong lockedEpoch(String partition) {
        Optional<String> c;
        try {
            c = NetworkLock.comment(table(partition));
        } catch (RuntimeException e) {
            log.warn("partition {}: reading network lock {}: {}", partition, table(partition), e.getMessage());
            return OptionalLong.empty();
        }
        if (c.isEmpty()) {
            return OptionalLong.empty();
        }
        Matcher m = COMMENT.matcher(c.get());
        return m.find() && m.group(1).equals(partition) && !m.group(2).equals("pending")
                ? OptionalLong.of(Long.parseLong(m.group(2))) : OptionalLong.empty();
    }

    /** Lifts the partition's lock, if one stands; never throws (logs). */
    void lift(String partition, String why) {
        try {
            if (NetworkLock.remove(table(partition))) {
                log.info("partition {}: network lock {} lifted ({})", partition, table(partition), why);
            }
        } catch (RuntimeException e) {
            log.error("partition {}: lifting network lock {}: {} (remove it with: nft delete table inet {})", partition,
                    table(partition), e.getMessage(), table(partition));
        }
    }

    /**
     * At start: lifts this store's locks that no restore can use any more (partition deleted,
     * epoch never committed, or a newer epoch since) and tells about the others. Never throws.
     */
    void cleanStale() {
        List<String> tables;
        try {
            tables = NetworkLock.tables(prefix);
        } catch (RuntimeException e) {
            log.debug("network locks not looked for: {}", e.getMessage());
            return;
        }
        for (String t : tables) {
            String partition = t.substring(prefix.length());
            try {
                if (store.partition(partition).isEmpty()) {
                    lift(partition, "the partition no longer exists");
                    continue;
                }
                OptionalLong locked = lockedEpoch(partition);
                long newest = store.lastEpoch(partition).orElse(0);
                if (locked.isEmpty() || locked.getAsLong() != newest) {
                    lift(partition, "stale: its epoch is not the partition's newest (" + newest + ")");
                } else {
                    log.warn("partition {}: network lock {} from checkpoint --kill of epoch {} still holds its "
                            + "connections: `slsctl restore -o {}` resumes them and lifts it; `nft delete table inet {}` "
                            + "drops it (the peers then see resets)", partition, t, newest, partition, t);
                }
            } catch (RuntimeException e) {
                log.warn("network lock {}: {}", t, e.getMessage());
            }
        }
    }

    private static String comment(String partition, String epoch) {
        return "slsd network lock: partition " + partition + " epoch " + epoch;
    }
}
