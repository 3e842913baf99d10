package org.sls.tests;

import org.sls.libsls.SelfCheckpoint;
import org.sls.libsls.SlsClient;

import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The workload of {@link SelfCheckpointTest}: a JVM that attaches itself to a partition, builds
 * some state (a counter and a data array with its checksum), checkpoints itself with
 * {@link SlsClient#checkpointSelf()} and reports, one line each, what it got and whether its
 * state is intact: {@code answer restored=0|1 epoch=E counter=C sum=S ok=1}. A process restored from
 * that checkpoint reports {@code restored=1} and then checkpoints itself once more on a new
 * connection ({@code again ...}); then it collects garbage to show the JVM runs, and says hello to
 * slsd twice a second ({@code hello n=N ok=1}) on the same client until killed: a restore in between
 * ends that connection, and the client connects again.
 *
 * <p>Arguments: the slsd socket, the partition. Not a test: run by the test as a separate JVM.
 */
public final class SelfCheckpointProgram {
    private SelfCheckpointProgram() {}

    public static void main(String[] args) throws Exception {
        Path socket = Path.of(args[0]);
        String partition = args[1];
        long pid = ProcessHandle.current().pid();
        long[] data = new long[1 << 17];
        long x = pid;
        long counter = 0;
        for (int round = 0; round < 50; round++) {
            for (int i = 0; i < data.length; i++) {
                x = x * 6364136223846793005L + 1442695040888963407L;
                data[i] ^= x;
            }
            counter++;
        }
        long sum = checksum(data);
        SlsClient client = SlsClient.connect(socket);
        client.attach((int) pid, partition);
        System.out.println("before pid=" + pid + " counter=" + counter + " sum=" + sum);
        System.out.flush();

        SelfCheckpoint r = client.checkpointSelf();
        report("answer", r, counter, 50, sum, data);
        if (r.restored()) {
            SelfCheckpoint again = client.checkpointSelf(); // on a new connection: the restored one has ended
            report("again", again, counter, 50, sum, data);
        }
        long garbage = 0;
        for (int i = 0; i < 200; i++) {
            garbage += new byte[1 << 18].length; // 50 MiB through a 64 MiB heap: the collector runs
        }
        System.gc();
        System.out.println("gc pid=" + ProcessHandle.current().pid() + " bytes=" + garbage + " ok=" + (checksum(data) == sum ? 1 : 0));
        System.out.flush();
        for (long n = 1; ; n++) {
            Thread.sleep(500);
            String outcome;
            try {
                outcome = "ok=" + (client.hello().get("pid").longValue() > 0 ? 1 : 0);
            } catch (RuntimeException e) { // a call in flight when a checkpoint was taken ends with the connection
                outcome = "ok=0 error=" + e.getClass().getSimpleName();
            }
            System.out.println("hello pid=" + ProcessHandle.current().pid() + " n=" + n + " " + outcome);
            System.out.flush();
        }
    }

    private static void report(String what, SelfCheckpoint r, long counter, long expected, long sum, long[] data) {
        boolean ok = counter == expected && checksum(data) == sum;
        System.out.println(what + " pid=" + ProcessHandle.current().pid() + " restored=" + (r.restored() ? 1 : 0)
                + " epoch=" + r.epoch() + " partition=" + r.partition() + " counter=" + counter + " sum=" + sum
                + " ok=" + (ok ? 1 : 0));
        System.out.flush();
    }

    private static long checksum(long[] data) {
        CRC32C crc = new CRC32C();
        for (long v : data) {
            for (int b = 0; b < 8; b++) {
                crc.update((int) (v >>> (8 * b)));
            }
        }
        return crc.getValue();
    }
}
