package org.sls.slsd.capture;

import org.sls.slsd.linux.PageRanges;
import org.sls.slsd.linux.SyscallInjector;
import org.sls.slsd.linux.Vma;

/** The tracker that tracks nothing: every checkpoint saves every present page. Stateless, thread-safe. */
public final class FullDirtyTracker implements DirtyTracker {
    @Override public String name() { return "full"; }
    @Override public void prepare(int pid, SyscallInjector leader) {}
    @Override public boolean needsPreparation(int pid) { return false; }
    @Override public PageRanges written(int pid, Vma vma) { return null; }
    @Override public boolean track(int pid, Vma vma) { return false; }
    @Override public void forget(int pid) {}
    @Override public void close() {}
}
