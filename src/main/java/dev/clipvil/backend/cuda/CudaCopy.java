package dev.clipvil.backend.cuda;

import dev.clipvil.backend.cpu.CpuBackend;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/** Fill, strided copy with broadcasting and conversion, contiguous and cast (kernels/cast.cu). */
final class CudaCopy {
    static final Kernel COPY = Kernel.of("cast", "cast_copy");
    static final Kernel COPY_RAW = Kernel.of("cast", "cast_copy_raw");
    static final Kernel FILL = Kernel.of("cast", "cast_fill");

    private CudaCopy() {}

    static void fill(CudaContext ctx, Tensor dst, double value) {
        CudaOps.requireOn(ctx, "fill", dst);
        Geometry g = Geometry.of(dst.shape(), dst.strides());
        CudaOps.launch(ctx, FILL, g, KernelArgs.begin().ptr(CudaOps.addr(dst)).i32(CudaOps.dt(dst)).f64(value).geom(g));
    }

    /**
     * dst = src (broadcast, converted). Either side may also be a CPU tensor (Creation.to and state-dict
     * loading copy across devices through the device's backend): the host side goes through a
     * contiguous staging copy, the conversion and broadcast then run where the destination is.
     */
    static void copy(CudaContext ctx, Tensor src, Tensor dst) {
        boolean srcHost = src.device().kind() == Device.Kind.CPU, dstHost = dst.device().kind() == Device.Kind.CPU;
        if (srcHost && dstHost) {
            CpuBackend.get().copy(src, dst);
            return;
        }
        if (dstHost) {
            CudaOps.requireOn(ctx, "copy", src);
            try (Tensor h = CudaTransfer.toHost(src)) {
                CpuBackend.get().copy(h, dst);
            }
            return;
        }
        if (srcHost) {
            CudaOps.requireOn(ctx, "copy", dst);
            if (src.dtype() == dst.dtype() && java.util.Arrays.equals(src.shape(), dst.shape()) && dst.isContiguous() && dst.offset() == 0
                    && dst.storage().numel() == dst.numel() && src.isContiguous() && src.offset() == 0 && src.storage().numel() == src.numel()) {
                ((CudaStorage) dst.storage()).upload(src.hostStorage()); // straight into place, no device temporary
                return;
            }
            try (Tensor d = CudaTransfer.toDevice(src, ctx.device())) {
                copy(ctx, d, dst);
            }
            return;
        }
        CudaOps.requireOn(ctx, "copy", src, dst);
        int[] shape = dst.shape();
        Geometry g = Geometry.of(shape, dst.strides(), CudaOps.bstrides("copy", src, shape));
        if (ctx.dryRun()) DryRun.copied(src.dtype(), dst.dtype(), dst.numel());
        if (src.dtype() == dst.dtype()) {
            CudaOps.launch(ctx, COPY_RAW, g, KernelArgs.begin().ptr(CudaOps.addr(dst)).ptr(CudaOps.addr(src)).i32(dst.dtype().byteSize()).geom(g));
        } else {
            CudaOps.launch(ctx, COPY, g, KernelArgs.begin().ptr(CudaOps.addr(dst)).i32(CudaOps.dt(dst)).ptr(CudaOps.addr(src))
                    .i32(CudaOps.dt(src)).geom(g));
        }
    }

    static Tensor contiguous(CudaContext ctx, Tensor x) {
        if (x.isContiguous()) return x.asStrided(x.shape(), x.strides(), x.offset());
        Tensor out = CudaOps.empty(ctx, x.dtype(), x.shape());
        copy(ctx, x, out);
        return out;
    }

    static Tensor cast(CudaContext ctx, Tensor x, DType to) {
        Tensor out = CudaOps.empty(ctx, to, x.shape());
        copy(ctx, x, out);
        return out;
    }

    /** {@code x} itself when contiguous (the caller must not close it), else a contiguous copy (closed by {@link #release}). */
    static Tensor dense(CudaContext ctx, Tensor x) {
        if (x.isContiguous()) return x;
        Tensor out = CudaOps.empty(ctx, x.dtype(), x.shape());
        copy(ctx, x, out);
        return out;
    }

    /** A dense tensor of dtype {@code to} (x itself when it already is one). */
    static Tensor denseAs(CudaContext ctx, Tensor x, DType to) {
        if (x.dtype() == to) return dense(ctx, x);
        return cast(ctx, x, to);
    }

    static void release(Tensor copy, Tensor original) {
        if (copy != null && copy != original) copy.close();
    }

    static String str(Tensor t) { return Shapes.str(t.shape()); }
}
