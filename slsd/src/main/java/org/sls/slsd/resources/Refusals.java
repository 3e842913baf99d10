package org.sls.slsd.resources;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the fds no kind of this version saves are, for the refusal's message ("pid 4242 fd 7
 * (anon_inode:[io_uring], io_uring instance): not supported yet"), keyed by the start of their
 * /proc/PID/fd link. Immutable, thread-safe.
 */
public final class Refusals {
    private static final Map<String, String> KINDS = new LinkedHashMap<>();

    static {
        KINDS.put("anon_inode:[io_uring]", "io_uring instance");
        KINDS.put("anon_inode:bpf-map", "BPF map");
        KINDS.put("anon_inode:bpf-prog", "BPF program");
        KINDS.put("anon_inode:bpf_link", "BPF link");
        KINDS.put("anon_inode:bpf_iter", "BPF iterator");
        KINDS.put("anon_inode:btf", "BPF type information");
        KINDS.put("anon_inode:[perf_event]", "perf event");
        KINDS.put("anon_inode:[userfaultfd]", "userfaultfd owned by the process");
        KINDS.put("anon_inode:[fanotify]", "fanotify instance");
        KINDS.put("anon_inode:[secretmem]", "secret memory (memfd_secret)");
        KINDS.put("anon_inode:kvm", "KVM");
        KINDS.put("anon_inode:[dmabuf]", "DMA buffer");
        KINDS.put("anon_inode:sync_file", "sync file");
        KINDS.put("anon_inode:[landlock-ruleset]", "Landlock ruleset");
        KINDS.put("anon_inode:[fscontext]", "file system context");
        KINDS.put("net:[", "network namespace");
        KINDS.put("mnt:[", "mount namespace");
    }

    private Refusals() {}

    /** What the fd is, when known ("io_uring instance"), or null. */
    public static String what(String link) {
        for (Map.Entry<String, String> e : KINDS.entrySet()) {
            if (link.startsWith(e.getKey())) {
                return e.getValue();
            }
        }
        return null;
    }
}
