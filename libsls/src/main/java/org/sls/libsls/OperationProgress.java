package org.sls.libsls;

/**
 * A checkpoint or restore running in slsd, as the {@code progress} request reports it. Immutable.
 *
 * @param partition     the partition
 * @param operation     "checkpoint" or "restore"
 * @param stage         what it does now ("capturing", "writing", "rebuilding", "writing memory")
 * @param bytesDone     bytes moved in this stage so far
 * @param bytesTotal    bytes this stage moves, 0 when not known
 * @param elapsedMillis time since the operation began
 */
public record OperationProgress(String partition, String operation, String stage, long bytesDone, long bytesTotal,
                                long elapsedMillis) {
}
