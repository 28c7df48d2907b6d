package dev.clipvil.backend.cpu;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.HostStorage;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/** Shared checks and accessors of the CPU kernels. */
public final class Cpu {
    private Cpu() {}

    /** Fails unless {@code t} is F32 or F64 (the dtypes the CPU computes in). */
    public static void requireCompute(String op, Tensor t) {
        if (!t.dtype().isComputeFloat()) {
            throw new DTypeException(op + ": expected an F32 or F64 tensor, got " + t.describe() + " (cast BF16/F16 first)");
        }
    }

    public static void requireSameDType(String op, Tensor a, Tensor b) {
        if (a.dtype() != b.dtype()) throw new DTypeException(op + ": dtypes differ: " + a.describe() + " and " + b.describe());
    }

    public static void requireRank(String op, Tensor t, int rank, String what) {
        if (t.dim() != rank) throw new ShapeException(op + ": " + what + " must have rank " + rank + ", got shape " + Shapes.str(t.shape()));
    }

    public static void requireIndex(String op, Tensor t) {
        if (t.dtype() != DType.I32 && t.dtype() != DType.I64) throw new DTypeException(op + ": indices must be I32 or I64, got " + t.describe());
    }

    /** Strides of {@code t} broadcast to {@code outShape} (0 along broadcast dims). */
    public static int[] broadcastStrides(String op, Tensor t, int[] outShape) {
        int[] shape = t.shape(), strides = t.strides();
        int n = outShape.length;
        if (shape.length > n) throw new ShapeException(op + ": cannot broadcast " + Shapes.str(shape) + " to " + Shapes.str(outShape));
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            int j = i - (n - shape.length);
            if (j < 0) continue;
            if (shape[j] == outShape[i]) out[i] = strides[j];
            else if (shape[j] == 1) out[i] = 0;
            else throw new ShapeException(op + ": cannot broadcast " + Shapes.str(shape) + " to " + Shapes.str(outShape));
        }
        return out;
    }

    /** Storage offset of the {@code row}-th row (all dims but the last) under {@code strides}. */
    public static int rowOffset(int row, int[] shape, int[] strides, int base) {
        int o = base;
        for (int d = shape.length - 2; d >= 0; d--) {
            int s = shape[d];
            int i = row % s;
            row /= s;
            o += i * strides[d];
        }
        return o;
    }

    public static float[] f32(Tensor t) { return t.hostStorage().f32(); }

    public static double[] f64(Tensor t) { return t.hostStorage().f64(); }

    /** A contiguous F32/F64 version of {@code t}: {@code t} itself when already so, else a copy the caller closes. */
    public static Tensor dense(Tensor t) {
        return t.isContiguous() ? t : CpuCopy.contiguous(t);
    }

    /** Closes {@code copy} when it is not {@code original}. */
    public static void release(Tensor copy, Tensor original) {
        if (copy != original) copy.close();
    }

    public static HostStorage host(Tensor t) { return t.hostStorage(); }
}
