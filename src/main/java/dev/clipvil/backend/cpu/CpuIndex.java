package dev.clipvil.backend.cpu;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/**
 * Gather (index_select), scatter-add (index_add into zeros) and concatenation. Every tensor is seen as
 * [outer, size, inner] around the indexed dimension; gather and cat move whole inner blocks with
 * {@link System#arraycopy}, which works on the backing array of any dtype.
 */
final class CpuIndex {
    private CpuIndex() {}

    /** Elements per parallel chunk: below this a loop stays on the calling thread. */
    private static final int GRAIN = 16384;

    static Tensor indexSelect(Tensor x, int dim, Tensor index) {
        String op = "index_select";
        int d = Shapes.dim(op, dim, x.dim());
        int[] shape = x.shape();
        int[] idx = indices(op, index, shape[d], d, shape);
        int outer = prod(shape, 0, d), size = shape[d], inner = prod(shape, d + 1, shape.length);
        int n = idx.length;
        int[] outShape = shape.clone();
        outShape[d] = n;
        Tensor out = Tensor.empty(x.dtype(), outShape);
        if (out.numel() == 0) return out;
        Tensor xc = Cpu.dense(x);
        try {
            Object src = xc.hostStorage().raw(), dst = out.hostStorage().raw();
            int base = xc.offset();
            Parallel.forRange(outer * n, Math.max(1, GRAIN / Math.max(1, inner)), (r0, r1) -> {
                for (int r = r0; r < r1; r++) {
                    int o = r / n, j = r % n;
                    System.arraycopy(src, base + (o * size + idx[j]) * inner, dst, r * inner, inner);
                }
            });
        } finally {
            Cpu.release(xc, x);
        }
        return out;
    }

    /**
     * Scatter-add into zeros. Repeated indices accumulate into the same output row, so threads split
     * the columns (the outer/inner positions), never the indexed rows: each output element is written
     * by one thread only.
     */
    static Tensor indexAdd(int[] shape, int dim, Tensor index, Tensor src) {
        String op = "index_add";
        Cpu.requireCompute(op, src);
        int d = Shapes.dim(op, dim, shape.length);
        int[] idx = indices(op, index, shape[d], d, shape);
        int n = idx.length;
        int[] want = shape.clone();
        want[d] = n;
        if (!java.util.Arrays.equals(want, src.shape())) {
            throw new ShapeException(op + ": source of shape " + Shapes.str(src.shape()) + " does not match " + Shapes.str(want)
                    + " (output " + Shapes.str(shape) + " with " + n + " indices along dimension " + d + ")");
        }
        int outer = prod(shape, 0, d), size = shape[d], inner = prod(shape, d + 1, shape.length);
        Tensor out = Tensor.empty(src.dtype(), shape);
        CpuCopy.fill(out, 0);
        if (src.numel() == 0) return out;
        Tensor sc = Cpu.dense(src);
        try {
            int sb = sc.offset();
            boolean f32 = src.dtype() == DType.F32;
            float[] sf = f32 ? Cpu.f32(sc) : null, of = f32 ? Cpu.f32(out) : null;
            double[] sd = f32 ? null : Cpu.f64(sc), od = f32 ? null : Cpu.f64(out);
            // Split the inner columns when there are enough of them (embeddings: outer 1, inner D),
            // else the outer blocks (index_add along the last dim: inner 1).
            boolean byColumns = inner >= 64 || outer < Parallel.threads();
            int units = byColumns ? inner : outer;
            long work = (long) outer * n * inner;
            int grain = work <= GRAIN ? units : Math.max(1, (int) ((long) units * GRAIN / work));
            Parallel.forRange(units, grain, (u0, u1) -> {
                int o0 = byColumns ? 0 : u0, o1 = byColumns ? outer : u1;
                int c0 = byColumns ? u0 : 0, c1 = byColumns ? u1 : inner;
                for (int o = o0; o < o1; o++) {
                    for (int j = 0; j < n; j++) {
                        int so = sb + (o * n + j) * inner, oo = (o * size + idx[j]) * inner;
                        if (f32) for (int c = c0; c < c1; c++) of[oo + c] += sf[so + c];
                        else for (int c = c0; c < c1; c++) od[oo + c] += sd[so + c];
                    }
                }
            });
        } finally {
            Cpu.release(sc, src);
        }
        return out;
    }

    static Tensor cat(Tensor[] xs, int dim) {
        String op = "cat";
        if (xs.length == 0) throw new ShapeException(op + ": needs at least one tensor");
        Tensor first = xs[0];
        int rank = first.dim();
        if (rank == 0) throw new ShapeException(op + ": cannot concatenate 0-dimensional tensors");
        int d = Shapes.dim(op, dim, rank);
        int[] outShape = first.shape();
        outShape[d] = 0;
        for (Tensor t : xs) {
            if (t.dtype() != first.dtype()) throw new DTypeException(op + ": dtypes differ: " + first.describe() + " and " + t.describe());
            if (!sameExcept(first.shape(), t.shape(), d)) {
                throw new ShapeException(op + ": shapes " + Shapes.str(first.shape()) + " and " + Shapes.str(t.shape())
                        + " differ outside dimension " + d);
            }
            outShape[d] += t.shape(d);
        }
        Tensor out = Tensor.empty(first.dtype(), outShape);
        if (out.numel() == 0) return out;
        int outer = prod(outShape, 0, d), inner = prod(outShape, d + 1, rank);
        int rowLen = outShape[d] * inner;
        Object dst = out.hostStorage().raw();
        int start = 0;
        for (Tensor t : xs) {
            int len = t.shape(d) * inner;
            if (len > 0) {
                Tensor tc = Cpu.dense(t);
                try {
                    Object src = tc.hostStorage().raw();
                    int sb = tc.offset(), db = start;
                    Parallel.forRange(outer, Math.max(1, GRAIN / len), (o0, o1) -> {
                        for (int o = o0; o < o1; o++) System.arraycopy(src, sb + o * len, dst, db + o * rowLen, len);
                    });
                } finally {
                    Cpu.release(tc, t);
                }
            }
            start += len;
        }
        return out;
    }

    /** The indices of a 1-D I32/I64 tensor, each checked to lie in [0, size). */
    private static int[] indices(String op, Tensor index, int size, int d, int[] shape) {
        Cpu.requireIndex(op, index);
        if (index.dim() != 1) throw new ShapeException(op + ": index must be 1-D, got shape " + Shapes.str(index.shape()));
        long[] v = index.toLongArray();
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            long k = v[i];
            if (k < 0 || k >= size) {
                throw new ShapeException(op + ": index " + k + " (at position " + i + ") is out of range for dimension " + d
                        + " of size " + size + " in shape " + Shapes.str(shape));
            }
            out[i] = (int) k;
        }
        return out;
    }

    private static boolean sameExcept(int[] a, int[] b, int d) {
        if (a.length != b.length) return false;
        for (int i = 0; i < a.length; i++) if (i != d && a[i] != b[i]) return false;
        return true;
    }

    private static int prod(int[] s, int from, int to) {
        int p = 1;
        for (int i = from; i < to; i++) p *= s[i];
        return p;
    }
}
