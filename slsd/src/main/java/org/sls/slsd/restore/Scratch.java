package org.sls.slsd.restore;

/**
 * The scratch area mapped at the same address in every husk of a restore (step 1): a
 * {@code syscall; int3} instruction pair at {@link #code()} that injected calls run through, and a
 * data area for their arguments (paths, structs). Immutable.
 *
 * @param address page-aligned start, chosen free in every checkpointed address space
 * @param size    bytes mapped
 */
record Scratch(long address, long size) {
    /** Bytes reserved for the instructions at the start of the area. */
    static final int CODE_BYTES = 64;
    /** {@code syscall} (0f 05) then {@code int3} (cc) as a trap should anything resume there untraced. */
    static final byte[] CODE = {0x0f, 0x05, (byte) 0xcc, (byte) 0xcc};
    static final long SIZE = 4 * 4096;

    long code() { return address; }
    long data() { return address + CODE_BYTES; }
    long dataSize() { return size - CODE_BYTES; }
    long end() { return address + size; }
}
