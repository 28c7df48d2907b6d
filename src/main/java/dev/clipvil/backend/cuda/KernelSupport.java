package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/**
 * Device-tensor plumbing of the fused-kernel launchers ({@link CudaAttention}, {@link CudaLayerNorm},
 * {@link CudaConv}): allocation on a given context, element addresses, dense/cast copies and fills
 * (through {@link CudaCopy}). Every temporary it returns is the caller's to close (closing is
 * stream-ordered safe: all work of a device runs on its one stream).
 */
final class KernelSupport {
    private KernelSupport() {}

    /** A new contiguous device tensor on {@code ctx} with uninitialised elements. */
    static Tensor empty(CudaContext ctx, DType dtype, int... shape) {
        CudaStorage s = new CudaStorage(ctx, dtype, Shapes.numel(shape));
        return Tensor.wrap(s, shape, Shapes.contiguousStrides(shape), 0);
    }

    /** Device address of {@code t}'s first element (0 for null). */
    static long ptr(Tensor t) {
        if (t == null) return 0L;
        if (!(t.storage() instanceof CudaStorage s)) {
            throw new IllegalArgumentException("cuda: " + t.describe() + " is not on a CUDA device");
        }
        return s.address(t.offset());
    }

    /**
     * {@code t} as a contiguous tensor of {@code dtype}: a new handle on the same storage when it
     * already is one, else a converted copy. Null for null.
     */
    static Tensor dense(CudaContext ctx, Tensor t, DType dtype) {
        if (t == null) return null;
        if (t.dtype() == dtype && t.isContiguous()) return t.asStrided(t.shape(), t.strides(), t.offset());
        Tensor out = empty(ctx, dtype, t.shape());
        copy(ctx, t, out);
        return out;
    }

    /** dst = src element by element (dtype conversion rounds to nearest even), any strides, same shape. */
    static void copy(CudaContext ctx, Tensor src, Tensor dst) { CudaCopy.copy(ctx, src, dst); }

    /** Writes 0 into every element of {@code t}. */
    static void zero(CudaContext ctx, Tensor t) { CudaCopy.fill(ctx, t, 0.0); }

    /** Element strides of {@code m} broadcast to {@code full} (right-aligned; 0 on broadcast dims). */
    static int[] broadcastStrides(String op, Tensor m, int[] full) {
        int[] s = m.shape(), st = m.strides();
        if (s.length > full.length) {
            throw new ShapeException(op + ": mask " + Shapes.str(s) + " has more dims than " + Shapes.str(full));
        }
        int[] out = new int[full.length];
        int shift = full.length - s.length;
        for (int i = 0; i < s.length; i++) {
            int f = full[i + shift];
            if (s[i] == f) out[i + shift] = f == 1 ? 0 : st[i];
            else if (s[i] == 1) out[i + shift] = 0;
            else throw new ShapeException(op + ": mask " + Shapes.str(s) + " does not broadcast to " + Shapes.str(full));
        }
        return out;
    }

    /** Closes every non-null tensor. */
    static void close(Tensor... ts) {
        for (Tensor t : ts) if (t != null) t.close();
    }

    static int ceilDiv(long a, int b) { return (int) ((a + b - 1) / b); }
}
