package dev.clipvil.backend.cuda;

import dev.clipvil.backend.cpu.CpuBackend;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.HostStorage;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Storage;
import dev.clipvil.tensor.Tensor;

/** Moves tensors between the host and a device (through the device's pinned staging buffer). */
public final class CudaTransfer {
    private CudaTransfer() {}

    /** A new device tensor (contiguous) with {@code x}'s elements; {@code x} may be any CPU view. */
    public static Tensor toDevice(Tensor x, Device device) {
        if (x.device().kind() != Device.Kind.CPU) throw new IllegalArgumentException("toDevice: " + x.describe() + " is not on the CPU");
        CudaContext ctx = CudaContext.get(device.index());
        Tensor dense = x;
        boolean copied = false;
        if (!x.isContiguous() || x.offset() != 0 || x.storage().numel() != x.numel()) {
            dense = Tensor.empty(x.dtype(), x.shape());
            CpuBackend.get().copy(x, dense);
            copied = true;
        }
        try {
            CudaStorage s = new CudaStorage(ctx, x.dtype(), x.numel());
            Tensor out;
            try {
                s.upload(dense.hostStorage());
            } finally {
                out = Tensor.wrap(s, x.shape(), Shapes.contiguousStrides(x.shape()), 0);
            }
            return out;
        } finally {
            if (copied) dense.close();
        }
    }

    /** A new CPU tensor with {@code x}'s elements and layout (the whole storage is copied down once). */
    public static Tensor toHost(Tensor x) {
        if (x.device().kind() == Device.Kind.CPU) return x.asStrided(x.shape(), x.strides(), x.offset());
        if (x.numel() < x.storage().numel() / 2) {
            // a small view of a big storage: gather it on the device, copy down only that
            try (Tensor c = CudaCopy.cast(((CudaStorage) x.storage()).context(), x, x.dtype())) {
                HostStorage h = c.storage().host();
                return Tensor.wrap(h, c.shape(), c.strides(), c.offset());
            }
        }
        Storage s = x.storage();
        HostStorage h = s.host();
        return Tensor.wrap(h, x.shape(), x.strides(), x.offset());
    }

    /** A new tensor of {@code x} on {@code device} (a new handle when it is there already). */
    public static Tensor to(Tensor x, Device device) {
        if (x.device().equals(device)) return x.asStrided(x.shape(), x.strides(), x.offset());
        if (device.kind() == Device.Kind.CPU) return toHost(x);
        if (x.device().kind() == Device.Kind.CPU) return toDevice(x, device);
        try (Tensor h = toHost(x)) {
            return toDevice(h, device);
        }
    }
}
