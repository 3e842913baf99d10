/**
 * The checkpoint engine the daemon calls: {@link org.sls.slsd.checkpoint.CheckpointEngine} (attach,
 * detach, spawn, checkpoint), its result and its errors ({@link org.sls.slsd.checkpoint.CheckpointException}
 * with a {@link org.sls.slsd.checkpoint.CheckpointException.Kind}), and
 * {@link org.sls.slsd.checkpoint.MemoryView} to read a process's memory back from an epoch.
 */
package org.sls.slsd.checkpoint;
