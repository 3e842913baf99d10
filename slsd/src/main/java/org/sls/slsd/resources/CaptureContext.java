package org.sls.slsd.resources;

import org.sls.slsd.capture.fd.FdProbe;
import org.sls.slsd.linux.FdCalls;
import org.sls.slsd.linux.InetCalls;
import org.sls.slsd.linux.Linux;
import org.sls.slsd.linux.NetworkLock;
import org.sls.slsd.linux.ProcFs;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * What the fd kinds of one checkpoint share: the partition's pids, whether ends of pipes held
 * outside the partition may be cut ({@code --external}), which processes outside the partition hold
 * which pipe (one scan of /proc per checkpoint, made only if a pipe is met), and which kernel objects
 * have been met already (so that shared state, such as a pipe's bytes, is saved once), and for
 * {@code checkpoint --kill} which connections to peers outside the partition are under the network
 * lock (captured with TCP_REPAIR, silenced before the kill). Not thread-safe: one per checkpoint,
 * used on the partition's thread.
 */
public final class CaptureContext {
    private final Set<Integer> pids;
    private final boolean external;
    private final boolean lockOutside;
    private final Set<NetworkLock.Connection> locked = new HashSet<>();
    /** {pid, fd} of one fd per connection captured with TCP_REPAIR. */
    private final List<int[]> repaired = new ArrayList<>();
    private final List<int[]> silenced = new ArrayList<>();
    private Map<String, Set<Integer>> holders;
    /** Whether {@link #holders} came from an earlier scan, to be checked after the thaw. */
    private boolean holdersFromBefore;
    /** What {@link #outsideHolders} answered, by link. */
    private final Map<String, Set<Integer>> answered = new HashMap<>();
    private final Set<String> seen = new HashSet<>();
    /** Fds already met per tag, for kcmp: {pid, fd, identity}. */
    private final Map<String, List<Object[]>> files = new HashMap<>();

    private final SelfCall selfCall;
    private boolean selfCallMet;
    private Set<Long> slsdSockets;

    public CaptureContext(Collection<Integer> partitionPids, boolean external) {
        this(partitionPids, external, false);
    }

    /**
     * With {@code lockOutside} ({@code checkpoint --kill}): established connections to peers
     * outside the partition are captured with TCP_REPAIR, as connections inside are, provided they
     * are under the network lock ({@link #locked}).
     */
    public CaptureContext(Collection<Integer> partitionPids, boolean external, boolean lockOutside) {
        this(partitionPids, external, lockOutside, null);
    }

    /** With the self-checkpoint request being served, or null when the checkpoint is not one. */
    public CaptureContext(Collection<Integer> partitionPids, boolean external, boolean lockOutside, SelfCall selfCall) {
        this.pids = Set.copyOf(partitionPids);
        this.external = external;
        this.lockOutside = lockOutside;
        this.selfCall = selfCall;
    }


    /**
     * A checkpoint that a process of the partition asked for on its own connection to slsd
     * ({@code checkpoint} with {@code self}): the restored process gets the answer on that fd.
     *
     * @param connection the inode of slsd's end of the caller's connection
     * @param requestId  the id of the request, echoed in the answer at restore
     */
    public record SelfCall(long connection, long requestId) {}

    /** The self-checkpoint request this checkpoint serves, if any. */
    public java.util.Optional<SelfCall> selfCall() { return java.util.Optional.ofNullable(selfCall); }

    /** Notes that the fd of the self-checkpoint's connection was met (a checkpoint that never meets it is refused). */
    void selfCallMet() { selfCallMet = true; }

    /** Whether {@link #selfCallMet()} happened. */
    public boolean selfCallWasMet() { return selfCallMet; }

    /** The inodes of the sockets slsd itself holds (one scan of /proc/self/fd per checkpoint, made when needed). */
    public Set<Long> slsdSockets() {
        if (slsdSockets == null) {
            slsdSockets = new HashSet<>();
            try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
                for (Path fd : fds) {
                    try {
                        String l = Files.readSymbolicLink(fd).toString();
                        if (l.startsWith("socket:[")) {
                            slsdSockets.add(Long.parseLong(l.substring(8, l.length() - 1)));
                        }
                    } catch (IOException e) {
                        // closed meanwhile (the directory stream's own fd, say)
                    }
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("listing slsd's own fds", e);
            }
        }
        return slsdSockets;
    }

    /** A context for one process alone (no --external), for callers outside a checkpoint. */
    public static CaptureContext single(int pid) {
        return new CaptureContext(List.of(pid), false);
    }

    public Set<Integer> pids() { return pids; }

    /** Whether fds on pipes shared with processes outside the partition are reconnected to /dev/null at restore. */
    public boolean external() { return external; }

    /** Whether this is a checkpoint --kill, whose connections to outside peers are locked and repaired. */
    public boolean lockOutside() { return lockOutside; }

    /**
     * The established TCP connections of the partition's processes to peers outside it (std
     * streams aside), seen from the partition: what the network lock of {@code checkpoint --kill}
     * must hold. Read from the same per-socket records the capture uses (no host-wide dump).
     */
    public List<NetworkLock.Connection> outsideConnections() {
        return TcpSocketKind.outside(this);
    }

    /** Tells which connections the network lock now holds. */
    public void locked(Collection<NetworkLock.Connection> connections) {
        locked.addAll(connections);
    }

    /** Whether the network lock holds this connection. */
    public boolean isLocked(NetworkLock.Connection c) {
        return locked.contains(c);
    }

    /** Records an fd (one per connection) captured with TCP_REPAIR, for {@link #silenceRepaired}. */
    void repaired(int pid, int fd) {
        repaired.add(new int[] {pid, fd});
    }

    /**
     * Puts every connection captured with TCP_REPAIR back into repair mode, so that when its
     * (frozen) holders are killed it closes without a FIN or RST and without lingering in the
     * kernel, leaving its addresses free for the restore. {@link #unsilence} undoes it.
     */
    public void silenceRepaired() {
        for (int[] r : repaired) {
            int reuse = TcpRepair.reuseAddr(r[0], r[1]);
            TcpRepair.repairMode(r[0], r[1], true, 0);
            silenced.add(new int[] {r[0], r[1], reuse});
        }
    }

    /** Takes the connections {@link #silenceRepaired} put into repair mode out of it again, without a window probe. */
    public void unsilence() {
        RuntimeException first = null;
        for (int[] r : silenced) {
            try {
                TcpRepair.repairMode(r[0], r[1], false, r[2]);
            } catch (RuntimeException e) {
                first = first == null ? e : first;
            }
        }
        silenced.clear();
        if (first != null) {
            throw first;
        }
    }

    /**
     * The processes outside the partition (slsd excepted) that hold an fd whose /proc link reads
     * {@code link} ("pipe:[123]", or a FIFO's path).
     */
    public Set<Integer> outsideHolders(String link) {
        if (holders == null) {
            holders = scanHolders();
        }
        Set<Integer> out = outside(holders, link);
        answered.put(link, out);
        return out;
    }

    private Set<Integer> outside(Map<String, Set<Integer>> table, String link) {
        Set<Integer> out = new TreeSet<>(table.getOrDefault(link, Set.of()));
        out.removeAll(pids);
        return out;
    }

    /**
     * Answers {@link #outsideHolders} from an earlier scan of /proc (the one made after the
     * previous checkpoint's thaw) instead of scanning while the partition is frozen: the scan reads
     * every fd of every process on the host and takes milliseconds. The answers must then be
     * confirmed by {@link #holdersStillValid} once the partition runs again, before the epoch is
     * committed.
     */
    public void holdersFromEarlierScan(Map<String, Set<Integer>> scanned) {
        this.holders = scanned;
        this.holdersFromBefore = true;
    }

    /** The holder table this checkpoint used (scanned now or given), null when no pipe was met. */
    public Map<String, Set<Integer>> holders() { return holders; }

    /**
     * After the thaw: whether a new scan confirms, for every pipe (or terminal) this checkpoint
     * asked about, what the checkpoint made of its outside holders. Only whether there were any
     * decides what is saved (a std stream to the outside, a pipe reconnected to /dev/null, or a
     * refusal); which pids they were only names them in messages.
     * <ul>
     * <li>None at the earlier scan: none now either. A process outside the partition that held
     *     the pipe while the partition was frozen either held it at the earlier scan or still holds
     *     it now (else it no longer matters).
     * <li>Some at the earlier scan: one of them still holds it now, and so held it throughout: a
     *     pipe fd is not got back once closed, short of being passed again. Holders that come
     *     and go beside it (the children a shell or a JVM starts, which inherit the fd for a
     *     moment) change nothing.
     * </ul>
     * Always true when the holders were scanned while frozen or no pipe was met.
     */
    public boolean holdersStillValid(Map<String, Set<Integer>> fresh) {
        if (!holdersFromBefore) {
            return true;
        }
        for (Map.Entry<String, Set<Integer>> e : answered.entrySet()) {
            Set<Integer> now = outside(fresh, e.getKey());
            boolean confirmed = e.getValue().isEmpty() ? now.isEmpty() : e.getValue().stream().anyMatch(now::contains);
            if (!confirmed) {
                return false;
            }
        }
        return true;
    }

    /** Whether the checkpoint used holders from an earlier scan for at least one pipe. */
    public boolean usedEarlierScan() {
        return holdersFromBefore && !answered.isEmpty();
    }

    /**
     * Every process on the host (slsd excepted) by the pipe or path its fds point to: the /proc
     * scan behind {@link #outsideHolders}.
     */
    public static Map<String, Set<Integer>> scanHolders() {
        return org.sls.slsd.linux.HostFds.links(Linux.getpid(), "pipe:", "/");
    }

    private Map<Long, org.sls.slsd.linux.FdCalls.UnixSocket> unix;
    private Set<String> partitionLinks;

    /** The host's unix sockets by inode (one sock_diag dump per checkpoint, made when a socket is met). */
    public Map<Long, org.sls.slsd.linux.FdCalls.UnixSocket> unixSockets() {
        if (unix == null) {
            unix = org.sls.slsd.linux.FdCalls.unixSockets();
        }
        return unix;
    }

    /**
     * The host's unix socket {@code ino}, or null when it is none: a socket this checkpoint or the
     * previous one found to be TCP or UDP ({@link #knownInet}) is answered without dumping the
     * host's unix sockets.
     */
    public org.sls.slsd.linux.FdCalls.UnixSocket unixSocket(long ino) {
        return knownInet(ino) ? null : unixSockets().get(ino);
    }

    /** Whether a process of the partition holds an fd whose /proc link reads {@code link}. */
    public boolean heldInPartition(String link) {
        if (partitionLinks == null) {
            partitionLinks = new HashSet<>();
            for (int pid : pids) {
                partitionLinks.addAll(fdLinks(pid).values());
            }
        }
        return partitionLinks.contains(link);
    }

    private final Map<Integer, Map<Integer, String>> links = new HashMap<>();

    /**
     * The fds of a partition process with what their /proc links read, in fd order, read once per
     * checkpoint (fds closed meanwhile are left out).
     */
    public Map<Integer, String> fdLinks(int pid) {
        Map<Integer, String> m = links.get(pid);
        if (m == null) {
            m = org.sls.slsd.linux.HostFds.of(pid);
            if (m.isEmpty() && !org.sls.slsd.linux.ProcFs.exists(pid)) {
                throw new org.sls.slsd.linux.ProcFs.NoSuchProcessException(pid, null);
            }
            links.put(pid, m);
        }
        return m;
    }

    /** slsd's copies of the partition's inet sockets by pid and fd, while {@link #keepSocketCopies} holds. */
    private Map<Long, Integer> socketCopies;

    /**
     * Keeps slsd's copy of each inet socket it reads (pidfd_getfd) open until
     * {@link #closeSocketCopies}, so that reading the socket and saving its options take one copy,
     * not two (about 20 system calls for each of a server's connections otherwise, at each
     * checkpoint, in the frozen time). Whoever calls this must call {@link #closeSocketCopies}.
     */
    public void keepSocketCopies() {
        if (socketCopies == null) {
            socketCopies = new HashMap<>();
        }
    }

    /** slsd's kept copy of fd {@code fd} of {@code pid}, or -1. */
    int socketCopy(int pid, int fd) {
        Integer c = socketCopies == null ? null : socketCopies.get(copyKey(pid, fd));
        return c == null ? -1 : c;
    }

    /** Keeps {@code copy}, slsd's copy of fd {@code fd} of {@code pid}, if copies are kept; false when the caller closes it. */
    boolean keepSocketCopy(int pid, int fd, int copy) {
        return socketCopies != null && socketCopies.putIfAbsent(copyKey(pid, fd), copy) == null;
    }

    /** The pidfds the copies were taken through, by pid, while {@link #keepSocketCopies} holds. */
    private Map<Integer, Integer> pidfds;

    /**
     * A pidfd of {@code pid}, opened once and kept with the socket copies (one per process, not one
     * per socket: two system calls for each of a server's connections); -1 when copies are not kept,
     * and the caller opens and closes its own.
     */
    int keptPidfd(int pid) {
        if (socketCopies == null) {
            return -1;
        }
        if (pidfds == null) {
            pidfds = new HashMap<>();
        }
        Integer f = pidfds.get(pid);
        if (f == null) {
            f = org.sls.slsd.linux.Linux.pidfdOpen(pid);
            pidfds.put(pid, f);
        }
        return f;
    }

    /** Closes the copies kept since {@link #keepSocketCopies}, and their pidfds; later reads make their own again. Idempotent. */
    public void closeSocketCopies() {
        if (socketCopies != null) {
            socketCopies.values().forEach(org.sls.slsd.linux.Linux::close);
            socketCopies = null;
        }
        if (pidfds != null) {
            pidfds.values().forEach(org.sls.slsd.linux.Linux::close);
            pidfds = null;
        }
    }

    /** Forgets the kept copies and pidfds without closing them: another thread may still use them (they go when slsd does). */
    public void abandonSocketCopies() {
        socketCopies = null;
        pidfds = null;
    }

    private static long copyKey(int pid, int fd) {
        return (long) pid << 32 | (fd & 0xffffffffL);
    }

    private final Map<String, Object> cached = new HashMap<>();

    private Map<Long, InetCalls.Facts> earlierFacts = Map.of();
    private final Map<Long, InetCalls.Facts> facts = new HashMap<>();

    /**
     * The {@link InetCalls.Facts} of the partition's sockets as the previous checkpoint read them,
     * by socket inode: a socket seen then is not asked again. Only the sockets met by the previous
     * checkpoint are carried, so an inode number would have to be handed to a new socket between two
     * checkpoints for one to be taken for another: sockfs numbers its inodes with a counter that
     * comes back to a number only after 2^32 new inodes (of sockets, pipes, anonymous files...).
     */
    public void carrySocketFacts(Map<Long, InetCalls.Facts> earlier) {
        earlierFacts = earlier;
    }

    /** The facts of socket {@code ino}: carried from the previous checkpoint, or {@code read}. */
    InetCalls.Facts socketFacts(long ino, java.util.function.Supplier<InetCalls.Facts> read) {
        return facts.computeIfAbsent(ino, i -> {
            InetCalls.Facts earlier = earlierFacts.get(i);
            return earlier != null ? earlier : read.get();
        });
    }

    /**
     * Whether socket {@code ino} is known, from this checkpoint or the previous one, to be of the
     * inet families: then it is no unix socket, and the host's unix sockets need not be dumped
     * (once per checkpoint, in the frozen time: a host has hundreds) to tell.
     */
    private boolean knownInet(long ino) {
        InetCalls.Facts f = facts.get(ino);
        f = f != null ? f : earlierFacts.get(ino);
        return f != null && (f.family() == InetCalls.AF_INET || f.family() == InetCalls.AF_INET6);
    }

    /** The facts of the sockets this checkpoint met, for the next one ({@link #carrySocketFacts}). */
    public Map<Long, InetCalls.Facts> socketFacts() {
        return Map.copyOf(facts);
    }

    /** A value computed once per checkpoint (such as a sock_diag dump), made by {@code make} the first time. */
    @SuppressWarnings("unchecked")
    public <T> T cached(String key, java.util.function.Supplier<T> make) {
        Object v = cached.get(key);
        if (v == null) { // not computeIfAbsent: a maker may ask for another cached value
            v = make.get();
            cached.put(key, v);
        }
        return (T) v;
    }

    private static final long[] NO_STAT = new long[0];
    private final Map<Long, long[]> stats = new HashMap<>();

    /**
     * {@link ProcFs#fdStat} of fd {@code fd} of {@code pid}, made once per checkpoint: every fd is
     * stat'ed when it is read, and an epoll's watched fds (a server's every connection) again.
     */
    public long[] fdStat(int pid, int fd) {
        long key = ((long) pid << 32) | (fd & 0xffffffffL);
        long[] st = stats.get(key);
        if (st == null) {
            // a socket this checkpoint has already taken a copy of (see keepSocketCopies): stat'ed through it
            int copy = socketCopy(pid, fd);
            st = copy >= 0 ? ProcFs.fdStat(copy) : ProcFs.fdStat(pid, fd);
            stats.put(key, st == null ? NO_STAT : st);
        }
        return st == NO_STAT ? null : st;
    }

    /** True the first time an identity is met in this checkpoint: its shared state is saved with that fd. */
    public boolean firstOf(String identity) {
        return seen.add(identity);
    }

    /**
     * An identity for an anonymous-inode fd (all of which share one inode): the first fd of the
     * partition that is the same open file (kcmp), as "tag:pid P fd N".
     */
    public String sameFileIdentity(FdProbe p, String tag) {
        List<Object[]> met = files.computeIfAbsent(tag, k -> new ArrayList<>());
        for (Object[] m : met) {
            if (FdCalls.sameFile((Integer) m[0], (Integer) m[1], p.pid(), p.fd())) {
                return (String) m[2];
            }
        }
        String id = tag + ":pid " + p.pid() + " fd " + p.fd();
        met.add(new Object[] {p.pid(), p.fd(), id});
        return id;
    }

    /** Where the fd kinds hand files whose content the checkpoint must hold (the memory capture). */
    public interface Contents {
        /** Saves the content of the file {@code identity} ("major:minor:inode"), read through {@code source}. */
        void file(String identity, String path, String source);
    }

    private Contents contents = (identity, path, source) -> { };

    /** Sets where file contents go (a checkpoint; a check saves nothing). */
    public void contents(Contents c) { this.contents = c; }

    public Contents contents() { return contents; }

    /**
     * The identity of the file behind a probe as /proc/PID/maps writes it ("major:minor:inode", hex
     * major and minor), so that an fd and the mappings of one file agree.
     */
    public static String mapsIdentity(FdProbe p) {
        String[] f = p.identity().split(":");
        long dev = Long.parseUnsignedLong(f[0], 16);
        long major = ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
        long minor = (dev & 0xff) | ((dev >>> 12) & ~0xffL);
        return Long.toHexString(major) + ":" + Long.toHexString(minor) + ":" + f[1];
    }
}
