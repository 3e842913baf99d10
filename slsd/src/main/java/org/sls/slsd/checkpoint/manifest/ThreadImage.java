package org.sls.slsd.checkpoint.manifest;

import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;

import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One thread as captured. Registers are named (hex strings) for people and can be turned back into
 * the raw {@code user_regs_struct} with {@link #rawRegs()}; interrupted system calls are already
 * fixed up (DESIGN section 9): a restartable call has rax = orig_rax and rip at the syscall
 * instruction, ERESTART_RESTARTBLOCK became -EINTR. Immutable.
 *
 * @param regs          register name → value in hex, in user_regs_struct order
 * @param xstate        NT_X86_XSTATE, base64 (its length is the kernel's XSAVE size)
 * @param interruptedSyscall the syscall number the thread was stopped in (-1 if none)
 * @param clearChildTid the tid address (set_tid_address / CLONE_CHILD_CLEARTID)
 */
public record ThreadImage(int tid, String comm, Map<String, String> regs, String xstate,
                          @JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long sigmask,
                          List<ProcessImage.SiginfoImage> pending, RseqImage rseq,
                          @JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long robustListHead,
                          long robustListLen,
                          @JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long clearChildTid,
                          long interruptedSyscall, AltStack altStack) {

    /** sigaltstack of the thread (flags SS_DISABLE = 2 when none). */
    public record AltStack(@JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long sp,
                           int flags, long size) {}

    /** Names of user_regs_struct fields, in order (8 bytes each). */
    public static final List<String> REG_NAMES = List.of("r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10",
            "r9", "r8", "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss",
            "fs_base", "gs_base", "ds", "es", "fs", "gs");

    /** rseq registration; pointer 0 when the thread has none. */
    public record RseqImage(@JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long pointer,
                            int size, @JsonSerialize(using = Hex.Ser.class) @JsonDeserialize(using = Hex.De.class) long signature,
                            int flags) {}

    public static Map<String, String> namedRegs(byte[] raw) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < REG_NAMES.size(); i++) {
            m.put(REG_NAMES.get(i), "0x" + Long.toHexString(b.getLong(i * 8)));
        }
        return m;
    }

    /** The 216-byte user_regs_struct. */
    public byte[] rawRegs() {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(REG_NAMES.size() * 8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < REG_NAMES.size(); i++) {
            b.putLong(i * 8, Hex.parse(regs.get(REG_NAMES.get(i))));
        }
        return b.array();
    }

    public long reg(String name) { return Hex.parse(regs.get(name)); }

    public byte[] rawXstate() { return Base64.getDecoder().decode(xstate); }
}
