package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.Arrays;

/**
 * Gather (index_select; embedding lookup is dim 0), scatter-add into zeros (its backward) and
 * concatenation (kernels/index.cu, cast.cu). Indices are validated on the device without a host
 * round trip: a bad one is recorded ({@link IndexFaults}) and reported, worded like the CPU backend's
 * error, at the next synchronisation, while the gather and scatter skip it; so lookups and losses
 * neither stall the stream nor stop a step from being captured in a CUDA graph.
 */
final class CudaIndex {
    static final Kernel CHECK = Kernel.of("index", "index_check");
    static final Kernel SELECT = Kernel.of("index", "index_select");
    static final Kernel ADD = Kernel.of("index", "index_add");
    /** index_check's block: its INDEX_CHECK_THREADS. */
    static final int CHECK_THREADS = 256;

    private CudaIndex() {}

    /**
     * Queues the check that every index (other than {@code ignore}, if {@code skipIgnore}) lies in [0, size);
     * a failure names {@code op} and {@code context} when the device is next synchronised.
     */
    static void checkIndices(CudaContext ctx, String op, Tensor index, long size, long ignore, boolean skipIgnore, String context) {
        int n = index.numel();
        if (n == 0) return;
        IndexFaults faults = ctx.indexFaults();
        int site = faults.register(op, context);
        // one block (the kernel reduces to the lowest bad position, as the CPU backend reports it)
        KernelLaunch.launch(ctx, CHECK, 1, CHECK_THREADS, 0, KernelArgs.begin().ptr(CudaOps.addr(index)).i32(CudaOps.dt(index))
                .i32(CudaOps.stride1(index)).i32(n).i64(size).i64(ignore).i32(skipIgnore ? 1 : 0).i32(site).ptr(faults.address()));
    }

    private static void requireIndex(String op, Tensor index) {
        if (index.dtype() != DType.I32 && index.dtype() != DType.I64) throw new DTypeException(op + ": indices must be I32 or I64, got " + index.describe());
        if (index.dim() != 1) throw new ShapeException(op + ": index must be 1-D, got shape " + Shapes.str(index.shape()));
    }

    /** Strides that read the coordinate along {@code d}: 1 there, 0 elsewhere. */
    private static int[] coordinate(int rank, int d) {
        int[] c = new int[rank];
        c[d] = 1;
        return c;
    }

    static Tensor indexSelect(CudaContext ctx, Tensor x, int dim, Tensor index) {
        String op = "index_select";
        CudaOps.requireOn(ctx, op, x, index);
        int d = Shapes.dim(op, dim, x.dim());
        requireIndex(op, index);
        int[] shape = x.shape();
        checkIndices(ctx, op, index, shape[d], 0, false, "for dimension " + d + " of size " + shape[d] + " in shape " + Shapes.str(shape));
        int[] outShape = shape.clone();
        outShape[d] = index.numel();
        Tensor out = CudaOps.empty(ctx, x.dtype(), outShape);
        int[] xs = x.strides();
        int xDim = xs[d];
        xs[d] = 0;
        Geometry g = Geometry.of(outShape, xs, coordinate(outShape.length, d), out.strides());
        CudaOps.launch(ctx, SELECT, g, KernelArgs.begin().ptr(CudaOps.addr(out)).ptr(CudaOps.addr(x)).i32(x.dtype().byteSize())
                .ptr(CudaOps.addr(index)).i32(CudaOps.dt(index)).i32(CudaOps.stride1(index)).i32(xDim).i64(shape[d]).geom(g));
        return out;
    }

    static Tensor indexAdd(CudaContext ctx, int[] shape, int dim, Tensor index, Tensor src) {
        String op = "index_add";
        CudaOps.requireOn(ctx, op, index, src);
        DTypes.requireFloat(op, src.dtype());
        int d = Shapes.dim(op, dim, shape.length);
        requireIndex(op, index);
        int n = index.numel();
        int[] want = shape.clone();
        want[d] = n;
        if (!Arrays.equals(want, src.shape())) {
            throw new ShapeException(op + ": source of shape " + Shapes.str(src.shape()) + " does not match " + Shapes.str(want)
                    + " (output " + Shapes.str(shape) + " with " + n + " indices along dimension " + d + ")");
        }
        checkIndices(ctx, op, index, shape[d], 0, false, "for dimension " + d + " of size " + shape[d] + " in shape " + Shapes.str(shape));
        Tensor acc = CudaOps.empty(ctx, DType.F32, shape);
        CudaCopy.fill(ctx, acc, 0);
        int[] as = acc.strides();
        int accDim = as[d];
        as[d] = 0;
        Geometry g = Geometry.of(src.shape(), src.strides(), coordinate(shape.length, d), as);
        CudaOps.launch(ctx, ADD, g, KernelArgs.begin().ptr(CudaOps.addr(acc)).ptr(CudaOps.addr(src)).i32(CudaOps.dt(src))
                .ptr(CudaOps.addr(index)).i32(CudaOps.dt(index)).i32(CudaOps.stride1(index)).i32(accDim).i64(shape[d]).geom(g));
        if (src.dtype() == DType.F32) return acc;
        try {
            return CudaCopy.cast(ctx, acc, src.dtype());
        } finally {
            acc.close();
        }
    }

    static Tensor cat(CudaContext ctx, Tensor[] xs, int dim) {
        String op = "cat";
        if (xs.length == 0) throw new ShapeException(op + ": needs at least one tensor");
        Tensor first = xs[0];
        int rank = first.dim();
        if (rank == 0) throw new ShapeException(op + ": cannot concatenate 0-dimensional tensors");
        int d = Shapes.dim(op, dim, rank);
        int[] outShape = first.shape();
        outShape[d] = 0;
        for (Tensor t : xs) {
            CudaOps.requireOn(ctx, op, t);
            if (t.dtype() != first.dtype()) throw new DTypeException(op + ": dtypes differ: " + first.describe() + " and " + t.describe());
            if (!sameExcept(first.shape(), t.shape(), d)) {
                throw new ShapeException(op + ": shapes " + Shapes.str(first.shape()) + " and " + Shapes.str(t.shape()) + " differ outside dimension " + d);
            }
            outShape[d] += t.shape(d);
        }
        Tensor out = CudaOps.empty(ctx, first.dtype(), outShape);
        if (out.numel() == 0) return out;
        int start = 0;
        for (Tensor t : xs) {
            int len = t.shape(d);
            if (len > 0 && t.numel() > 0) {
                try (Tensor view = out.asStrided(t.shape(), out.strides(), start * out.stride(d))) {
                    CudaCopy.copy(ctx, t, view);
                }
            }
            start += len;
        }
        return out;
    }

    private static boolean sameExcept(int[] a, int[] b, int d) {
        if (a.length != b.length) return false;
        for (int i = 0; i < a.length; i++) if (i != d && a[i] != b[i]) return false;
        return true;
    }
}
