package org.sls.slsd.resources;

import org.sls.slsd.checkpoint.manifest.FdImage;
import org.sls.slsd.linux.InetCalls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;

/**
 * A TCP connection's state under TCP_REPAIR, captured and restored side by side: sequence numbers,
 * both queues (peeked, never drained), mss, window scale, SACK, timestamps and window. Used by
 * {@link TcpSocketKind} for its {@code repair} and {@code locked} roles, and by the network lock of
 * {@code checkpoint --kill} to put a frozen connection into repair mode and out again. Capture
 * works on slsd's copy of the frozen process's socket and leaves repair mode without a window
 * probe, so the live connection sees no packet. Stateless, thread-safe (a {@link LeaveRepair}
 * belongs to one restore run).
 */
final class TcpRepair {
    private static final Logger log = LoggerFactory.getLogger(TcpRepair.class);

    private TcpRepair() {}

    /**
     * Puts the connection behind a frozen process's fd into repair mode ({@code on}), so that it
     * closes without FIN or RST when its holders die, or takes it out again without a window probe
     * (SO_REUSEADDR, which both changes reset, as it was).
     */
    static void repairMode(int pid, int fd, boolean on, int reuse) {
        String what = "pid " + pid + " fd " + fd + " (tcp)";
        InetSockets.withCopy(pid, fd, copy -> {
            InetCalls.setInt(copy, InetCalls.IPPROTO_TCP, InetCalls.TCP_REPAIR,
                    on ? InetCalls.TCP_REPAIR_ON : InetCalls.TCP_REPAIR_OFF_NO_WP, what);
            if (!on && reuse != 0) {
                InetCalls.setInt(copy, InetCalls.SOL_SOCKET, InetCalls.SO_REUSEADDR, reuse, what);
            }
            return null;
        });
    }

    /** SO_REUSEADDR of the connection behind a frozen process's fd. */
    static int reuseAddr(int pid, int fd) {
        return InetSockets.withCopy(pid, fd, copy -> InetCalls.getInt(copy, InetCalls.SOL_SOCKET,
                InetCalls.SO_REUSEADDR, "pid " + pid + " fd " + fd + " (tcp)"));
    }

    /**
     * Reads the state of the connection behind slsd's copy {@code fd} in repair mode into
     * {@code d}, then leaves repair mode without a window probe (the live connection never sees a
     * packet), SO_REUSEADDR set back as it was.
     */
    static void capture(int fd, Map<String, String> d, String what) {
        int reuse = InetCalls.getInt(fd, InetCalls.SOL_SOCKET, InetCalls.SO_REUSEADDR, what);
        InetCalls.setInt(fd, InetCalls.IPPROTO_TCP, InetCalls.TCP_REPAIR, InetCalls.TCP_REPAIR_ON, what);
        try {
            byte[] info = InetCalls.getBytes(fd, InetCalls.IPPROTO_TCP, InetCalls.TCP_INFO, 8, what);
            if (info[0] != InetCalls.TCP_ESTABLISHED) {
                throw new IllegalStateException(what + ": TCP state " + info[0] + " in repair mode");
            }
            int opts = info[5] & 0xff;
            d.put("tcpi_options", Integer.toString(opts));
            d.put("snd_wscale", Integer.toString(info[6] & 0x0f));
            d.put("rcv_wscale", Integer.toString((info[6] >> 4) & 0x0f));
            d.put("mss", Integer.toString(InetCalls.getInt(fd, InetCalls.IPPROTO_TCP, InetCalls.TCP_MAXSEG, what)));
            if ((opts & InetCalls.TCPI_OPT_TIMESTAMPS) != 0) {
                d.put("timestamp", Integer.toString(InetCalls.getInt(fd, InetCalls.IPPROTO_TCP, InetCalls.TCP_TIMESTAMP, what)));
            }
            d.put("window", Base64.getEncoder().encodeToString(
                    InetCalls.getBytes(fd, InetCalls.IPPROTO_TCP, InetCalls.TCP_REPAIR_WINDOW, 20, what)));
            int outq = InetCalls.outq(fd, what);
            int unsent = InetCalls.outqNotSent(fd, what);
            int inq = InetCalls.inq(fd, what);
            InetCalls.setInt(fd, InetCalls.IPPROTO_TCP, InetCalls.TCP_REPAIR_QUEUE, InetCalls.TCP_RECV_QUEUE, what);
            d.put("inq_seq", Integer.toUnsignedString(InetCalls.getInt(fd, InetCalls.IPPROTO_TCP, InetCalls.TCP_QUEUE_SEQ, what)));
            d.put("inq", Base64.getEncoder().encodeToString(inq == 0 ? new byte[0] : InetCalls.peek(fd, inq, what + " receive queue")));
            InetCalls.setInt(fd, InetCalls.IPPROTO_TCP, InetCalls.TCP_REPAIR_QUEUE, InetCalls.TCP_SEND_QUEUE, what);
            d.put("outq_seq", Integer.toUnsignedString(InetCalls.getInt(fd, InetCalls.IPPROTO_TCP, InetCalls.TCP_QUEUE_SEQ, what)));
            d.put("outq", Base64.getEncoder().encodeToString(outq == 0 ? new byte[0] : InetCalls.peek(fd, outq, what + " send queue")));
            d.put("unsent", Integer.toString(unsent));
            InetCalls.setInt(fd, InetCalls.IPPROTO_TCP, InetCalls.TCP_REPAIR_QUEUE, InetCalls.TCP_NO_QUEUE, what);
        } finally {
            InetCalls.setInt(fd, InetCalls.IPPROTO_TCP, InetCalls.TCP_REPAIR, InetCalls.TCP_REPAIR_OFF_NO_WP, what);
            if (reuse != 0) { // leaving repair mode cleared it
                InetCalls.setInt(fd, InetCalls.SOL_SOCKET, InetCalls.SO_REUSEADDR, reuse, what);
            }
        }
    }

    private static final int F_DUPFD_CLOEXEC = 1030;

    /**
     * Makes {@code s}, a new socket of {@code img}'s family, the connection {@code img} saved: bound,
     * queue sequences set, connected without a SYN, options, queues refilled, window. It stays in
     * repair mode until the restore run closes its context (see {@link LeaveRepair}).
     */
    static void restore(int s, int family, InetSocketAddress local, InetSocketAddress remote, FdImage img,
                               RestoreContext ctx, String what) {
        byte[] inq = Base64.getDecoder().decode(img.detail("inq", ""));
        byte[] outq = Base64.getDecoder().decode(img.detail("outq", ""));
        int unsent = Integer.parseInt(img.detail("unsent", "0"));
        int inSeq = Integer.parseUnsignedInt(img.detail("inq_seq", "0"));
        int outSeq = Integer.parseUnsignedInt(img.detail("outq_seq", "0"));
        InetCalls.setInt(s, InetCalls.IPPROTO_TCP, InetCalls.TCP_REPAIR, InetCalls.TCP_REPAIR_ON, what);
        InetCalls.bind(s, family, local, what);
        InetCalls.setInt(s, InetCalls.IPPROTO_TCP, InetCalls.TCP_REPAIR_QUEUE, InetCalls.TCP_RECV_QUEUE, what);
        InetCalls.setInt(s, InetCalls.IPPROTO_TCP, InetCalls.TCP_QUEUE_SEQ, inSeq - inq.length, what);
        InetCalls.setInt(s, InetCalls.IPPROTO_TCP, InetCalls.TCP_REPAIR_QUEUE, InetCalls.TCP_SEND_QUEUE, what);
        InetCalls.setInt(s, InetCalls.IPPROTO_TCP, InetCalls.TCP_QUEUE_SEQ, outSeq - outq.length, what);
        InetCalls.connect(s, family, remote, what); // in repair mode: established at once, no SYN
        int opts = Integer.parseInt(img.detail("tcpi_options", "0"));
        ByteBuffer o = ByteBuffer.allocate(32).order(ByteOrder.nativeOrder());
        o.putInt(InetCalls.TCPOPT_MAXSEG).putInt(Integer.parseInt(img.detail("mss", "1460")));
        if ((opts & InetCalls.TCPI_OPT_WSCALE) != 0) {
            o.putInt(InetCalls.TCPOPT_WINDOW).putInt(Integer.parseInt(img.detail("snd_wscale", "0"))
                    + (Integer.parseInt(img.detail("rcv_wscale", "0")) << 16));
        }
        if ((opts & InetCalls.TCPI_OPT_SACK) != 0) {
            o.putInt(InetCalls.TCPOPT_SACK_PERM).putInt(0);
        }
        if ((opts & InetCalls.TCPI_OPT_TIMESTAMPS) != 0) {
            o.putInt(InetCalls.TCPOPT_TIMESTAMP).putInt(0);
        }
        InetCalls.setBytes(s, InetCalls.IPPROTO_TCP, InetCalls.TCP_REPAIR_OPTIONS, Arrays.copyOf(o.array(), o.position()), what);
        if ((opts & InetCalls.TCPI_OPT_TIMESTAMPS) != 0) {
            InetCalls.setInt(s, InetCalls.IPPROTO_TCP, InetCalls.TCP_TIMESTAMP, Integer.parseInt(img.detail("timestamp", "0")), what);
        }
        if (inq.length > 0) {
            InetCalls.setInt(s, InetCalls.IPPROTO_TCP, InetCalls.TCP_REPAIR_QUEUE, InetCalls.TCP_RECV_QUEUE, what);
            InetCalls.sendAll(s, inq, what + " receive queue");
        }
        int sentPart = outq.length - unsent;
        if (sentPart > 0) { // sent but not acknowledged: the stack must know it went out
            InetCalls.setInt(s, InetCalls.IPPROTO_TCP, InetCalls.TCP_REPAIR_QUEUE, InetCalls.TCP_SEND_QUEUE, what);
            InetCalls.sendAll(s, Arrays.copyOf(outq, sentPart), what + " send queue");
        }
        InetCalls.setInt(s, InetCalls.IPPROTO_TCP, InetCalls.TCP_REPAIR_QUEUE, InetCalls.TCP_NO_QUEUE, what);
        String window = img.detail("window", "");
        if (!window.isEmpty()) {
            InetCalls.setBytes(s, InetCalls.IPPROTO_TCP, InetCalls.TCP_REPAIR_WINDOW, Base64.getDecoder().decode(window), what);
        }
        // the peer may not exist yet (it is restored later in this run): a window probe now would
        // draw a RST, so every connection leaves repair mode once all fds are in place
        ctx.object("tcp.repairs", LeaveRepair::new).add(s, Arrays.copyOfRange(outq, sentPart, outq.length), what);
    }

    /**
     * The connections of one restore run still in repair mode: when the run closes its context (all
     * fds of all processes in place, none running yet) each leaves repair mode with a window probe
     * and sends its never-sent bytes. Not thread-safe: the restore thread's.
     */
    private static final class LeaveRepair implements AutoCloseable {
        private final java.util.List<Object[]> pending = new java.util.ArrayList<>();

        void add(int s, byte[] unsent, String what) {
            pending.add(new Object[] {org.sls.slsd.linux.FdCalls.fcntl(s, F_DUPFD_CLOEXEC, 0, what), unsent, what});
        }

        @Override
        public void close() {
            RuntimeException first = null;
            for (Object[] p : pending) {
                int fd = (Integer) p[0];
                byte[] unsent = (byte[]) p[1];
                String what = (String) p[2];
                try {
                    InetCalls.setInt(fd, InetCalls.IPPROTO_TCP, InetCalls.TCP_REPAIR, InetCalls.TCP_REPAIR_OFF, what);
                    // leaving repair mode cleared SO_REUSEADDR; set so that a listener on the port can come back
                    InetCalls.setInt(fd, InetCalls.SOL_SOCKET, InetCalls.SO_REUSEADDR, 1, what);
                    if (unsent.length > 0) { // never went out: sent now like any new data
                        InetCalls.sendAll(fd, unsent, what + " unsent bytes");
                    }
                } catch (RuntimeException e) {
                    log.warn("{}: leaving TCP repair mode: {}", what, e.getMessage());
                    first = first == null ? e : first;
                } finally {
                    org.sls.slsd.linux.Linux.close(fd);
                }
            }
            pending.clear();
            if (first != null) {
                throw first;
            }
        }
    }
}
