package org.sls.slsd.snapshot;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.sls.slfs.SnapshotContent;
import org.sls.slos.Slos;
import org.sls.slos.StoreException;
import org.sls.slsd.checkpoint.manifest.Manifest;
import org.sls.slsd.checkpoint.manifest.ManifestCodec;
import org.sls.slsd.checkpoint.manifest.ProcessImage;
import org.sls.slsd.checkpoint.manifest.RegionImage;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * What a checkpoint shows of its processes, read-only, in slfs's
 * {@code /.snapshots/PART/EPOCH/} and through {@code slsctl core}: the manifest, and per process
 * {@code state.json} (registers, VMAs, fds, signals), {@code maps} (like /proc/PID/maps) and
 * {@code core} (an ELF core file). Everything comes from the store. Thread-safe.
 */
public final class SnapshotView implements SnapshotContent {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private final Slos store;

    public SnapshotView(Slos store) {
        this.store = store;
    }

    @Override
    public byte[] manifest(String partition, long epoch) {
        byte[] raw = stored(partition, epoch);
        return raw == null ? null : ManifestCodec.pretty(raw);
    }

    private byte[] stored(String partition, long epoch) {
        try {
            return store.readBlob(partition, epoch, Manifest.BLOB);
        } catch (StoreException e) {
            if (e.kind() == StoreException.Kind.NOT_FOUND) {
                return null;
            }
            throw e;
        }
    }

    @Override
    public List<Integer> pids(String partition, long epoch) {
        Manifest m = decoded(partition, epoch);
        return m == null ? List.of() : m.processes().stream().map(ProcessImage::pid).toList();
    }

    @Override
    public byte[] file(String partition, long epoch, int pid, String name) {
        Manifest m = decoded(partition, epoch);
        if (m == null || m.processes().stream().noneMatch(p -> p.pid() == pid)) {
            return null;
        }
        ProcessImage p = m.process(pid);
        return switch (name) {
            case "state.json" -> json(p);
            case "maps" -> maps(p).getBytes(StandardCharsets.UTF_8);
            case "core" -> core(partition, epoch, pid);
            default -> null;
        };
    }

    /** The ELF core file of {@code pid} at {@code epoch}; NOT_FOUND when the process is not in it. */
    public byte[] core(String partition, long epoch, int pid) {
        Manifest m = decoded(partition, epoch);
        if (m == null || m.processes().stream().noneMatch(p -> p.pid() == pid)) {
            throw new StoreException(StoreException.Kind.NOT_FOUND, "partition " + partition + " epoch " + epoch + " holds no pid " + pid);
        }
        return CoreDump.render(m.process(pid), store.reader(partition, epoch));
    }

    private Manifest decoded(String partition, long epoch) {
        byte[] raw = stored(partition, epoch);
        return raw == null ? null : ManifestCodec.decode(raw);
    }

    private static byte[] json(ProcessImage p) {
        try {
            return JSON.writeValueAsBytes(p);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("pid " + p.pid() + ": cannot render state.json: " + e.getOriginalMessage(), e);
        }
    }

    /** The regions as /proc/PID/maps prints them. */
    static String maps(ProcessImage p) {
        StringBuilder b = new StringBuilder();
        for (RegionImage r : p.regions()) {
            String prot = r.prot();
            String perms = (prot.contains("r") ? "r" : "-") + (prot.contains("w") ? "w" : "-") + (prot.contains("x") ? "x" : "-")
                    + (r.kind() == RegionImage.Kind.SHARED || r.kind() == RegionImage.Kind.FILE_SHARED ? "s" : "p");
            String name = switch (r.kind()) {
                case HEAP -> "[heap]";
                case STACK -> "[stack]";
                case VDSO -> "[vdso]";
                case VVAR -> "[vvar]";
                case VVAR_VCLOCK -> "[vvar_vclock]";
                case VSYSCALL -> "[vsyscall]";
                default -> r.path() == null ? "" : r.path();
            };
            b.append(String.format("%08x-%08x %s %08x 00:00 0", r.start(), r.end(), perms, r.offset()));
            if (!name.isEmpty()) {
                b.append("    ").append(name);
            }
            b.append('\n');
        }
        return b.toString();
    }
}
