package dev.clipvil.backend.cuda;

import dev.clipvil.backend.cpu.CpuBackend;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;

/**
 * The simple, correct path for a primitive that has no CUDA kernel yet: copy the operands to the
 * host (as F32, since the CPU backend computes F32), run the CPU backend, copy the results back in
 * the wanted dtype. Slow (two PCIe trips and a CPU run), so only the stop-gap until a kernel lands.
 */
final class HostFallback {
    private HostFallback() {}

    /** A host F32 (or F64) copy of a device tensor, or null for null. */
    static Tensor down(Tensor x) {
        if (x == null) return null;
        if (x.storage() instanceof CudaStorage cs) {
            if (cs.context().capturing() != null || cs.context().refreshing() != null) {
                cs.context().requireNotCapturing("the CPU fallback of " + caller() + " (no CUDA kernel for these operands: " + x.describe() + " would be copied to the host)");
            }
        }
        Tensor h = CudaTransfer.toHost(x);
        if (x.dtype() == DType.BF16 || x.dtype() == DType.F16) {
            Tensor f = CpuBackend.get().cast(h, DType.F32);
            h.close();
            return f;
        }
        return h;
    }

    /** The op that fell back: the first caller outside this class, e.g. "CudaLayerNorm.forward". */
    private static String caller() {
        return StackWalker.getInstance().walk(st -> st.filter(f -> !f.getClassName().equals(HostFallback.class.getName()))
                .findFirst().map(f -> f.getClassName().substring(f.getClassName().lastIndexOf('.') + 1) + "." + f.getMethodName()).orElse("an op"));
    }

    /** A device copy of a host result in {@code dtype} (null for null); closes {@code h}. */
    static Tensor up(CudaContext ctx, Tensor h, DType dtype) {
        if (h == null) return null;
        try {
            if (h.dtype() != dtype) {
                try (Tensor c = CpuBackend.get().cast(h, dtype)) {
                    return CudaTransfer.toDevice(c, ctx.device());
                }
            }
            return CudaTransfer.toDevice(h, ctx.device());
        } finally {
            h.close();
        }
    }

    static void close(Tensor... ts) {
        for (Tensor t : ts) if (t != null) t.close();
    }

    /** The dtype results come back in: the operand's storage dtype, F32 for the CPU's F64 (not used on the GPU). */
    static DType resultType(Tensor like) {
        DType d = like.dtype();
        return d == DType.F64 ? DType.F32 : d;
    }
}
