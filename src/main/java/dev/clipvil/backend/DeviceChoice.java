package dev.clipvil.backend;

import dev.clipvil.backend.cuda.CudaBackend;
import dev.clipvil.backend.cuda.CudaRuntime;
import dev.clipvil.tensor.Device;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * Resolves a {@code --device cuda[:N]|cpu} setting: {@code cpu}; {@code cuda} / {@code cuda:N} (an
 * error saying why when that GPU cannot be used); or, when unset or {@code auto}, cuda:0 when a GPU
 * is usable, else the CPU with a one-time notice "no GPU: running on the CPU (reason)". A CUDA device
 * chosen here has its backend registered.
 */
public final class DeviceChoice {
    private static final AtomicBoolean NOTICED = new AtomicBoolean();

    private DeviceChoice() {}

    /** Resolves against this machine; the notice goes to standard error. */
    public static Device resolve(String spec) {
        return resolve(spec, CudaRuntime.availability(), m -> System.err.println("clipvil: " + m), true);
    }

    /** The device a setting names given what CUDA offers ({@code register}: create the CUDA backend). */
    static Device resolve(String spec, CudaRuntime.Availability cuda, Consumer<String> notice, boolean register) {
        String s = spec == null ? "auto" : spec.trim().toLowerCase(java.util.Locale.ROOT);
        if (s.isEmpty() || s.equals("auto")) {
            if (cuda.available()) return use(Device.cuda(0), register);
            if (NOTICED.compareAndSet(false, true)) notice.accept("no GPU: running on the CPU (" + cuda.reason() + ")");
            return Device.CPU;
        }
        Device d = Device.parse(s);
        if (d.kind() == Device.Kind.CPU) return d;
        if (!cuda.available()) throw new IllegalArgumentException("--device " + spec + ": no usable GPU (" + cuda.reason() + ")");
        if (d.index() >= cuda.deviceCount()) {
            throw new IllegalArgumentException("--device " + spec + ": no such GPU (" + cuda.deviceCount() + " CUDA device"
                    + (cuda.deviceCount() == 1 ? "" : "s") + ")");
        }
        return use(d, register);
    }

    private static Device use(Device d, boolean register) {
        if (register) CudaBackend.register(d.index());
        return d;
    }

    /** Forgets that the CPU notice was shown (tests). */
    static void resetNotice() { NOTICED.set(false); }
}
