package org.sls.slsd.checkpoint;

import org.sls.slos.EpochWriter;

/**
 * Something else that goes into a partition's checkpoint epoch besides its processes (slfs: the
 * partition's files). {@link #frozen} runs while the processes are frozen, and must be quick: it
 * only pins the state of that moment; {@link Pinned#writeTo} runs after they resume, before the
 * epoch commits; {@link Pinned#abandon} when the checkpoint fails. Implementations are
 * thread-safe (partitions checkpoint in parallel).
 */
public interface EpochParticipant {

    /** Pins the partition's state as it is now, while its processes are frozen. */
    Pinned frozen(String partition);

    /** A pinned state waiting to be written into the checkpoint's epoch. */
    interface Pinned {
        /** Writes (and makes durable) the pinned state as part of epoch {@code w}. */
        void writeTo(EpochWriter w);

        /** Gives the pinned state up: the checkpoint failed. */
        void abandon();
    }

    /** Nothing besides the processes. */
    EpochParticipant NONE = partition -> new Pinned() {
        @Override
        public void writeTo(EpochWriter w) {
        }

        @Override
        public void abandon() {
        }
    };
}
