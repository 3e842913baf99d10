package org.sls.slsd.resources;

/**
 * What the restore engine lends a kind to act inside one husk: syscalls injected into its main
 * thread and a scratch area for their arguments (reset after each call). Implemented by the restore
 * engine over its injector. Not thread-safe: only the husk's tracer thread may use it.
 */
public interface HuskCalls {
    /** The husk's pid (the restored one). */
    int pid();

    /** The pid the process had at checkpoint time, for messages. */
    int checkpointedPid();

    /** Runs a syscall in the husk; a failure throws a NativeException naming {@code name}. */
    long call(String name, long nr, long... args);

    /** Copies bytes into the husk's scratch data area for the next call and returns their address. */
    long data(byte[] bytes);

    /** The pid a process of the checkpoint has in this restore (differs under --new-pids), or -1 when it is not restored. */
    default int restoredPid(int checkpointedPid) {
        return checkpointedPid;
    }
}
