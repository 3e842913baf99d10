package org.sls.slsd.restore;

/**
 * The steps of a restore (DESIGN section 4), numbered as there so that an error names where it
 * stopped: {@code step 4 (map VMA ...)}.
 */
public enum RestoreStep {
    /** check PIDs, permissions, files and the vdso before anything is built */
    CHECK(-1, "check"),
    /** clone every husk from the husk of its parent, with sessions and process groups */
    TREE(0, "build the process tree"),
    /** the scratch page with {@code syscall; int3}, the husk's own rseq gone */
    SCRATCH(1, "prepare the husk"),
    /** [vdso], [vvar], [vvar_vclock] moved to the checkpoint's addresses */
    SPECIAL_MAPPINGS(2, "move the vdso"),
    /** every VMA mapped, its pages written, its protection set */
    MEMORY(4, "restore memory"),
    /** mm fields, signals, limits, fds, cwd, root, credentials */
    PROCESS_STATE(5, "restore process state"),
    /** threads cloned and given their per-thread state */
    THREADS(6, "restore threads"),
    /** scratch page unmapped, registers set, detached */
    RESUME(7, "resume");

    private final int number;
    private final String description;

    RestoreStep(int number, String description) {
        this.number = number;
        this.description = description;
    }

    public int number() { return number; }

    /** "step 4 (what)" for error messages; {@code what} names the object of the failed action. */
    public String describe(String what) {
        String w = what == null || what.isEmpty() ? description : what;
        return number < 0 ? w : "step " + number + " (" + w + ")";
    }
}
