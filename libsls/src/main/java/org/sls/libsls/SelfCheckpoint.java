package org.sls.libsls;

/**
 * What {@link SlsClient#checkpointSelf()} returns, once in the process that asked for the
 * checkpoint and once more in every process restored from it (as {@code fork} returns in parent
 * and child). Immutable.
 *
 * @param partition the partition checkpointed (the one the calling process is attached to)
 * @param epoch     the epoch of that checkpoint; in a restored process, the epoch it was restored from
 * @param restored  false in the process that called; true in a process restored from the epoch
 */
public record SelfCheckpoint(String partition, long epoch, boolean restored) {
}
