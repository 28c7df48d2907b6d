package dev.clipvil.backend.cuda;

import dev.clipvil.backend.cpu.Cpu;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/** Shared helpers of the CUDA op families: addresses, dtype codes, new outputs, launches over a {@link Geometry}. */
final class CudaOps {
    private CudaOps() {}

    /** The device address of {@code t}'s first element (its storage offset applied); 0 for null. */
    static long addr(Tensor t) {
        if (t == null) return 0;
        if (!(t.storage() instanceof CudaStorage)) throw new IllegalArgumentException("expected a CUDA tensor, got " + t.describe());
        return ((CudaStorage) t.storage()).address(t.offset());
    }

    static int dt(Tensor t) { return DTypes.code(t.dtype()); }

    static Tensor empty(CudaContext ctx, DType dtype, int... shape) { return Tensor.empty(ctx.device(), dtype, shape); }

    static int[] bstrides(String op, Tensor t, int[] shape) { return Cpu.broadcastStrides(op, t, shape); }

    /** The stride of a 1-D tensor (0 for null). */
    static int stride1(Tensor t) { return t == null || t.dim() == 0 ? 0 : t.stride(0); }

    /** Launches a grid-stride elementwise kernel over {@code g}; nothing when empty. */
    static void launch(CudaContext ctx, Kernel k, Geometry g, KernelArgs args) {
        if (g.numel() == 0) return;
        KernelLaunch.launch(ctx, k, KernelLaunch.gridFor(ctx, g.numel()), KernelLaunch.BLOCK, 0, args);
    }

    /** Launches a grid-stride kernel over {@code n} items. */
    static void launchN(CudaContext ctx, Kernel k, long n, KernelArgs args) {
        if (n == 0) return;
        KernelLaunch.launch(ctx, k, KernelLaunch.gridFor(ctx, n), KernelLaunch.BLOCK, 0, args);
    }

    /** Launches a kernel with one 256-thread block per row (grid-stride over rows beyond 65535 blocks). */
    static void launchRows(CudaContext ctx, Kernel k, int rows, KernelArgs args) {
        if (rows == 0) return;
        KernelLaunch.launch(ctx, k, Math.min(rows, 65535), KernelLaunch.BLOCK, 0, args);
    }

    /** Fails unless every non-null tensor lives on {@code ctx}'s device. */
    static void requireOn(CudaContext ctx, String op, Tensor... ts) {
        for (Tensor t : ts) {
            if (t != null && !t.device().equals(ctx.device())) {
                throw new IllegalArgumentException(op + ": " + t.describe() + " is not on " + ctx.device());
            }
        }
    }

    static String str(int[] s) { return Shapes.str(s); }
}
