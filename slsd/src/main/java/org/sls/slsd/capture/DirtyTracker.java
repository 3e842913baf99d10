package org.sls.slsd.capture;

import org.sls.slsd.linux.PageRanges;
import org.sls.slsd.linux.SyscallInjector;
import org.sls.slsd.linux.Vma;

/**
 * Tells which pages of a VMA were written since the previous checkpoint (DESIGN section 5). All
 * methods run on the checkpoint's freezing thread while the process is frozen. Implementations are
 * not thread-safe; one tracker per partition.
 */
public interface DirtyTracker extends AutoCloseable {
    /** "uffd-wp-async" or "full". */
    String name();

    /** Called with an injector on the process's main thread before its memory is read. */
    void prepare(int pid, SyscallInjector leader);

    /** Whether {@link #prepare} must be given an injector for this pid (nothing to set up otherwise). */
    boolean needsPreparation(int pid);

    /**
     * Pages of {@code vma} written since it was last {@link #track tracked} (and protects them again),
     * or null when the tracker cannot tell (not tracked, a new VMA at the same range): copy everything.
     */
    PageRanges written(int pid, Vma vma);

    /**
     * Pages written since the VMA was last tracked (protected again by this call), and, when the
     * tracker had to walk them anyway, the pages present now.
     *
     * @param present null when not computed: then {@code written} also holds pages zapped since
     *                (MADV_DONTNEED), which read back as zeros and are stored as holes
     * @param swappedClean among {@code present}, the pages the walk saw only as swap entries not
     *                written since: a private copy swapped out, or the write-protect marker of a page
     *                never populated (a file page, not a copy); the caller tells them apart by what was
     *                present before. Empty when not computed.
     */
    record Dirty(PageRanges present, PageRanges written, PageRanges swappedClean) {
        Dirty(PageRanges present, PageRanges written) {
            this(present, written, new PageRanges());
        }
    }

    /** The written (and maybe present) pages of a tracked VMA; null when the tracker cannot tell. */
    default Dirty dirty(int pid, Vma vma) {
        PageRanges w = written(pid, vma);
        return w == null ? null : new Dirty(null, w);
    }

    /**
     * {@link #dirty(int, Vma)} for a VMA of which {@code knownPages} pages were present at the
     * previous checkpoint: a tracker may use it to judge how much of the VMA each interval writes.
     * The written pages it returns may then be more than those written since the previous
     * checkpoint (never fewer), and {@code present} is set whenever they are.
     */
    default Dirty dirty(int pid, Vma vma, long knownPages) {
        return dirty(pid, vma);
    }

    /**
     * For an early copy before the freeze ({@link Precopy}): the pages of {@code vma} written since
     * it was last protected, protected again, or null when this tracker cannot tell them without
     * the freeze (then the VMA is left to it). The next {@link #dirty} of the VMA returns the pages
     * written since this call.
     */
    default PageRanges writtenEarly(int pid, Vma vma) {
        return null;
    }

    /** Starts tracking writes to {@code vma} from now on; false when it cannot be tracked. */
    boolean track(int pid, Vma vma);

    /**
     * Says which process holds {@code pid} now, by its address-space stamp (which includes its start
     * time). State kept under the same pid for another process (one that exec'd, or died and was
     * restored, or a reused pid) is dropped, so that the process is prepared and tracked afresh
     * instead of being scanned through a dead process's files.
     */
    default void identify(int pid, String stamp) {}

    /** Stops tracking a process (detached or gone). */
    void forget(int pid);

    @Override
    void close();
}
