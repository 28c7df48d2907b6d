package dev.clipvil.ops;

import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.Tensor;

/** New tensors: constants, ranges, random values, device copies. */
public final class Creation {
    private Creation() {}

    public static Tensor full(Device device, DType dtype, double value, int... shape) {
        Backend be = Backends.of(device);
        Tensor t = be.empty(dtype, shape);
        be.fill(t, value);
        return t;
    }

    public static Tensor zeros(DType dtype, int... shape) { return full(Device.CPU, dtype, 0, shape); }
    public static Tensor ones(DType dtype, int... shape) { return full(Device.CPU, dtype, 1, shape); }
    public static Tensor zeros(int... shape) { return zeros(DType.F32, shape); }
    public static Tensor ones(int... shape) { return ones(DType.F32, shape); }

    public static Tensor zerosLike(Tensor t) { return full(t.device(), t.dtype(), 0, t.shape()); }
    public static Tensor onesLike(Tensor t) { return full(t.device(), t.dtype(), 1, t.shape()); }

    /**
     * {@code k} distinct indices of [0, total), ascending, I32 [k] on {@code device}: a uniformly random
     * subset that is a pure function of {@code seed}, the same on every backend (see
     * {@link Backend#randomSubset}); drawn on the device, so a CUDA graph can capture it.
     */
    public static Tensor randomSubset(Device device, int total, int k, long seed) {
        return Backends.of(device).randomSubset(total, k, seed);
    }

    /** 0, 1, ..., n-1. */
    public static Tensor arange(DType dtype, int n) {
        Tensor t = Tensor.empty(dtype, n);
        for (int i = 0; i < n; i++) t.hostStorage().setDouble(i, i);
        return t;
    }

    public static Tensor randn(long seed, DType dtype, int... shape) {
        Backend be = Backends.of(Device.CPU);
        Tensor t = be.empty(dtype, shape);
        be.fillNormal(t, 0, 1, seed);
        return t;
    }

    public static Tensor rand(long seed, DType dtype, int... shape) {
        Backend be = Backends.of(Device.CPU);
        Tensor t = be.empty(dtype, shape);
        be.fillUniform(t, 0, 1, seed);
        return t;
    }

    /**
     * {@code host} (a small tensor a layer built on the host: an index list, a mask) placed on
     * {@code device}: itself on the CPU, else a device copy (the host tensor is then closed).
     */
    public static Tensor onDevice(Tensor host, Device device) {
        if (host.device().equals(device)) return host;
        Tensor out = to(host, device);
        host.close();
        return out;
    }

    /** A copy of {@code t} on {@code device} (same dtype). */
    public static Tensor to(Tensor t, Device device) {
        Backend be = Backends.of(device);
        Tensor out = be.empty(t.dtype(), t.shape());
        if (t.device().equals(device)) {
            be.copy(t, out);
        } else if (device.kind() == Device.Kind.CPU) {
            Backends.of(t).copy(t, out);
        } else {
            be.copy(t, out);
        }
        return out;
    }
}
