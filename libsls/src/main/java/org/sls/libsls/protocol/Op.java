package org.sls.libsls.protocol;

import java.util.Optional;

/**
 * The operations slsd serves, by wire name. An operation appears here only once slsd
 * implements it end to end.
 */
public enum Op {
    /** Protocol version and daemon identity. */
    HELLO("hello"),
    /** Kernel features slsd probed at start. */
    CHECK("check"),
    /** Partitions, their settings, attached processes and statistics, store usage. */
    STATUS("status"),
    /** Creates a partition. */
    PARTADD("partadd"),
    /** Deletes a partition and its checkpoints. */
    PARTDEL("partdel"),
    /** Lists committed checkpoints. */
    LISTSNAPS("listsnaps"),
    /** Deletes checkpoints: one epoch, or all but the newest N. */
    DELETE("delete"),
    /** Checks (and optionally repairs) the store. */
    FSCK("fsck"),
    /** Adds a running process to a partition. */
    ATTACH("attach"),
    /** Removes a process from its partition. */
    DETACH("detach"),
    /** Starts a program in a partition, attached from its first instruction. */
    SPAWN("spawn"),
    /** Checkpoints a partition into one new epoch. */
    CHECKPOINT("checkpoint"),
    /** Waits until an epoch is durable. */
    EPOCHWAIT("epochwait"),
    /** Brings a partition's processes back from a committed epoch. */
    RESTORE("restore"),
    /** Writes an ELF core file of one process of a checkpoint. */
    CORE("core"),
    /** Attaches to the terminal slsd keeps for a restored process: the connection then carries raw bytes. */
    CONSOLE("console"),
    /** Sets the window size of the terminal slsd keeps for a restored process. */
    WINSIZE("winsize"),
    /** The checkpoints and restores running now, with bytes done and to do (progress lines). */
    PROGRESS("progress");

    private final String wireName;

    Op(String wireName) {
        this.wireName = wireName;
    }

    /** The name used in the {@code op} field. */
    public String wireName() {
        return wireName;
    }

    /** The operation named {@code name} on the wire, if any. */
    public static Optional<Op> byWireName(String name) {
        for (Op op : values()) {
            if (op.wireName.equals(name)) {
                return Optional.of(op);
            }
        }
        return Optional.empty();
    }
}
