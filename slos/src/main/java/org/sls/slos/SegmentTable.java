package org.sls.slos;

import java.util.ArrayList;
import java.util.List;

/**
 * In-memory state of every segment: live page references, write pointer (blocks), and whether
 * it is free, available for appending, full, or held by a writer or the cleaner. Only live counts
 * and write pointers are persisted ('S' records); a segment with no live page is free after a
 * restart, whatever was written into it. Thread-safe (synchronized).
 */
final class SegmentTable {
    enum State { FREE, PARTIAL, FULL, HELD }

    private final String store;
    private final long firstBlock;
    private final int segBlocks;
    private final long[] live;
    private final int[] used;
    private final State[] state;

    SegmentTable(String store, long dataOffset, int segmentSize, long count) {
        if (count > Integer.MAX_VALUE) {
            throw new StoreException(StoreException.Kind.INVALID, "store " + store + ": too many segments (" + count + ")");
        }
        this.store = store;
        this.firstBlock = dataOffset >>> Layout.BLOCK_SHIFT;
        this.segBlocks = segmentSize >>> Layout.BLOCK_SHIFT;
        int n = (int) count;
        this.live = new long[n];
        this.used = new int[n];
        this.state = new State[n];
        java.util.Arrays.fill(state, State.FREE);
    }

    int count() {
        return live.length;
    }

    int segBlocks() {
        return segBlocks;
    }

    /** Block address of block {@code b} of segment {@code seg}. */
    long block(int seg, int b) {
        return firstBlock + (long) seg * segBlocks + b;
    }

    /** Segment holding block address {@code block}, or -1 when outside the data area. */
    int segmentOf(long block) {
        long rel = block - firstBlock;
        if (rel < 0 || rel / segBlocks >= live.length) {
            return -1;
        }
        return (int) (rel / segBlocks);
    }

    /** Loads a persisted segment record (at open). */
    synchronized void load(int seg, long liveCount, int usedBlocks) {
        if (liveCount <= 0) {
            live[seg] = 0;
            used[seg] = 0;
            state[seg] = State.FREE;
        } else {
            live[seg] = liveCount;
            used[seg] = usedBlocks;
            state[seg] = usedBlocks >= segBlocks ? State.FULL : State.PARTIAL;
        }
    }

    /**
     * Takes a segment for appending: the fullest partial one, else a free one. Writers leave
     * {@link Layout#CLEANER_RESERVE_SEGMENTS} free segments to the cleaner. Returns -1 when none.
     */
    synchronized int acquire(boolean cleaner) {
        int best = -1;
        int free = 0;
        int firstFree = -1;
        for (int i = 0; i < state.length; i++) {
            if (state[i] == State.PARTIAL && (best < 0 || used[i] > used[best])) {
                best = i;
            } else if (state[i] == State.FREE) {
                free++;
                if (firstFree < 0) {
                    firstFree = i;
                }
            }
        }
        if (best < 0) {
            if (firstFree < 0 || (!cleaner && free <= Layout.CLEANER_RESERVE_SEGMENTS)) {
                return -1;
            }
            best = firstFree;
            used[best] = 0;
        }
        state[best] = State.HELD;
        return best;
    }

    synchronized int used(int seg) {
        return used[seg];
    }

    synchronized long live(int seg) {
        return live[seg];
    }

    synchronized State state(int seg) {
        return state[seg];
    }

    /** Gives back a held segment with its write pointer (rewound by an abort, advanced by a commit). */
    synchronized void release(int seg, int usedBlocks) {
        used[seg] = usedBlocks;
        state[seg] = State.PARTIAL;
        settle(seg);
    }

    /** Adds live references (commit, fold, cleaner destination) or removes them (delete, cleaner source). */
    synchronized void addLive(int seg, long delta) {
        live[seg] += delta;
        if (live[seg] < 0) {
            throw new IllegalStateException("store " + store + ": segment " + seg + " live count below zero");
        }
        settle(seg);
    }

    /** Sets the write pointer of a held segment as a commit persisted it. */
    synchronized void setUsed(int seg, int usedBlocks) {
        used[seg] = usedBlocks;
    }

    /** Marks a held-by-nobody segment as held (the cleaner's victims). Returns false when not possible. */
    synchronized boolean hold(int seg) {
        if (state[seg] != State.FULL && state[seg] != State.PARTIAL) {
            return false;
        }
        state[seg] = State.HELD;
        return true;
    }

    /** Gives back a victim the cleaner could not empty (or has emptied: then it becomes free). */
    synchronized void unhold(int seg) {
        state[seg] = used[seg] >= segBlocks ? State.FULL : State.PARTIAL;
        settle(seg);
    }

    private void settle(int seg) {
        if (state[seg] == State.HELD) {
            return;
        }
        if (live[seg] == 0) {
            state[seg] = State.FREE;
            used[seg] = 0;
        } else {
            state[seg] = used[seg] >= segBlocks ? State.FULL : State.PARTIAL;
        }
    }

    /** Persistable view of one segment. */
    synchronized Records.Segment record(int seg) {
        return new Records.Segment(live[seg], used[seg]);
    }

    /** Snapshot for victim selection and usage: (segment, live, used, state). */
    record Info(int seg, long live, int used, State state) {}

    synchronized List<Info> snapshot() {
        List<Info> out = new ArrayList<>(live.length);
        for (int i = 0; i < live.length; i++) {
            out.add(new Info(i, live[i], used[i], state[i]));
        }
        return out;
    }

    synchronized long totalLive() {
        long t = 0;
        for (long l : live) {
            t += l;
        }
        return t;
    }

    synchronized int freeCount() {
        int n = 0;
        for (State s : state) {
            if (s == State.FREE) {
                n++;
            }
        }
        return n;
    }
}
