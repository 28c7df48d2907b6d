package dev.clipvil.cli;

import dev.clipvil.backend.cuda.ConvImpl;
import dev.clipvil.backend.cuda.CudaBackend;
import dev.clipvil.ops.Autocast;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.Tensor;

/**
 * The resolved compute choice of a command run ({@link ComputeOptions#resolve}): the device, the
 * precision ("f32", "tf32" or "bf16") and the conv2d implementation. {@link #open} applies the
 * process-wide switches for the run (conv2d implementation, TF32 GEMMs: the ones {@code clipvil
 * train} uses) and puts them back; {@link #autocast} is the guard to wrap forward passes in (BF16
 * autocast for bf16, as the trainer does); {@link #onDevice} and {@link #onHost} move tensors.
 */
record Compute(Device device, String precision, ConvImpl conv) {
    /** The CPU in F32 with the process's conv2d choice (no options given). */
    static Compute cpu() { return new Compute(Device.CPU, "f32", ConvImpl.current()); }

    boolean bf16() { return precision.equals("bf16"); }

    /** The run's switches until the returned scope closes: conv2d implementation and, for tf32, TF32 tensor-core GEMMs. */
    Scope open() {
        boolean tf32Before = CudaBackend.tf32Allowed();
        ConvImpl.Scope convScope = ConvImpl.scoped(conv);
        if (precision.equals("tf32")) CudaBackend.allowTf32(true);
        return () -> {
            CudaBackend.allowTf32(tf32Before);
            convScope.close();
        };
    }

    /** The precision policy of a forward pass: BF16 autocast for bf16, plain F32 otherwise. */
    Autocast.Guard autocast() { return bf16() ? Autocast.bf16() : Autocast.f32(); }

    /** {@code host} on the run's device: itself on the CPU, else a device copy (the host tensor is then closed). */
    Tensor onDevice(Tensor host) { return host == null ? null : Creation.onDevice(host, device); }

    /** {@code t} on the host: itself when it is there, else a host copy (one transfer; {@code t} stays open). */
    static Tensor onHost(Tensor t) { return t.device().equals(Device.CPU) ? t : Creation.to(t, Device.CPU); }

    /**
     * {@code t} as a result to write: F32 if it is another floating type (a cast on the device), on the
     * host (one transfer). {@code t} stays open; what is made belongs to the current memory scope.
     */
    static Tensor hostF32(Tensor t) {
        Tensor f = t.dtype().isFloating() && t.dtype() != DType.F32 ? Elementwise.cast(t, DType.F32) : t;
        return onHost(f);
    }

    /** Puts the switches back. */
    interface Scope extends AutoCloseable {
        @Override void close();
    }
}
