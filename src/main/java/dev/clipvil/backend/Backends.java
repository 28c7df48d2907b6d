package dev.clipvil.backend;

import dev.clipvil.backend.cpu.CpuBackend;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.Tensor;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Finds the backend of a device. The CPU backend is always there; others register when they load. */
public final class Backends {
    private static final Map<Device, Backend> BACKENDS = new ConcurrentHashMap<>();

    static {
        BACKENDS.put(Device.CPU, CpuBackend.get());
    }

    private Backends() {}

    public static Backend of(Device device) {
        Backend b = BACKENDS.get(device);
        if (b == null) throw new IllegalStateException("no backend is available for device " + device + " (available: " + BACKENDS.keySet() + ")");
        return b;
    }

    public static Backend of(Tensor t) { return of(t.device()); }

    /** The backend of the operands, which must all be on one device; null entries are ignored. */
    public static Backend of(String op, Tensor... ts) {
        Device d = null;
        for (Tensor t : ts) {
            if (t == null) continue;
            if (d == null) d = t.device();
            else if (!d.equals(t.device())) {
                StringBuilder sb = new StringBuilder(op).append(": operands are on different devices:");
                for (Tensor u : ts) if (u != null) sb.append(' ').append(u.describe()).append(';');
                throw new IllegalArgumentException(sb.toString());
            }
        }
        return of(d == null ? Device.CPU : d);
    }

    public static void register(Backend backend) { BACKENDS.put(backend.device(), backend); }

    public static CpuInfo cpu() { return new CpuInfo(Runtime.getRuntime().availableProcessors()); }

    /** What the CPU offers. */
    public record CpuInfo(int threads) {}
}
