package org.sls.libsls;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * A terminal of a restored partition, attached through slsd ({@link SlsClient#console}): what the
 * programs write comes out of {@link #output()}, what is written to {@link #input()} reaches them
 * as if typed (so 0x03 is Ctrl-C, 0x1a Ctrl-Z, '\r' Enter in raw programs). Closing it detaches;
 * the programs and their terminal stay. Streams may be used from two threads (one each way);
 * {@link #close()} is thread-safe.
 */
public final class Console implements AutoCloseable {
    private final SocketChannel channel;
    private final InputStream output;
    private final OutputStream input;
    private final String tty;
    private final int pid;
    private final String checkpointedTty;

    Console(SocketChannel channel, String tty, int pid, String checkpointedTty) {
        this.channel = channel;
        // straight on the channel: the JDK's channel streams serialize a read and a write, and a
        // console reads and writes at once
        this.output = new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] b = new byte[1];
                return read(b, 0, 1) < 0 ? -1 : b[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return len == 0 ? 0 : channel.read(ByteBuffer.wrap(b, off, len));
            }
        };
        this.input = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                ByteBuffer buf = ByteBuffer.wrap(b, off, len);
                while (buf.hasRemaining()) {
                    channel.write(buf);
                }
            }
        };
        this.tty = tty;
        this.pid = pid;
        this.checkpointedTty = checkpointedTty;
    }

    /** The terminal's bytes as the programs write them; end of stream when slsd ends the console. */
    public InputStream output() { return output; }

    /** Bytes for the programs, as if typed. */
    public OutputStream input() { return input; }

    /** The terminal's slave path now ("/dev/pts/7"). */
    public String tty() { return tty; }

    /** The restored session leader (or first holder) of the terminal. */
    public int pid() { return pid; }

    /** The terminal the programs had at checkpoint time ("/dev/pts/3"). */
    public String checkpointedTty() { return checkpointedTty; }

    /** Tells slsd that no more input comes: it ends the console (what the programs write later waits for the next one). */
    public void endInput() throws IOException {
        channel.shutdownOutput();
    }

    /** Detaches: the programs keep running on their terminal. */
    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // detaching: nothing is lost
        }
    }
}
