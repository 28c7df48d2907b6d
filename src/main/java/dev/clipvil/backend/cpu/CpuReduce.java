package dev.clipvil.backend.cpu;

import dev.clipvil.backend.ReduceOp;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.HostStorage;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/**
 * Reductions along any set of dims. The input is viewed as [outer..., reduced...] by permuting the
 * reduced dims last; each output element then reduces one strided block. Sums accumulate in double.
 */
final class CpuReduce {
    private CpuReduce() {}

    /** Normalised, sorted, de-duplicated dims; an empty array means all dims. */
    static boolean[] reducedMask(String op, int[] dims, int rank) {
        boolean[] m = new boolean[rank];
        if (dims.length == 0) java.util.Arrays.fill(m, true);
        for (int d : dims) m[Shapes.dim(op, d, rank)] = true;
        return m;
    }

    static int[] outShape(int[] shape, boolean[] mask, boolean keepDim) {
        int n = 0;
        for (int i = 0; i < shape.length; i++) if (!mask[i] || keepDim) n++;
        int[] out = new int[n];
        int j = 0;
        for (int i = 0; i < shape.length; i++) {
            if (!mask[i]) out[j++] = shape[i];
            else if (keepDim) out[j++] = 1;
        }
        return out;
    }

    /** A visitor over the elements of each reduced block. */
    private interface Block {
        /** Reduces the block whose first element is at {@code base}; returns the value for output {@code o}. */
        double reduce(int base);
    }

    private static final class Plan {
        int[] outerShape, outerStrides, innerShape, innerStrides;
        int outerCount, innerCount;
    }

    private static Plan plan(Tensor x, boolean[] mask) {
        int[] shape = x.shape(), strides = x.strides();
        int no = 0, ni = 0;
        for (boolean b : mask) if (b) ni++; else no++;
        Plan p = new Plan();
        p.outerShape = new int[no]; p.outerStrides = new int[no];
        p.innerShape = new int[ni]; p.innerStrides = new int[ni];
        int a = 0, b = 0;
        for (int i = 0; i < shape.length; i++) {
            if (mask[i]) { p.innerShape[b] = shape[i]; p.innerStrides[b++] = strides[i]; }
            else { p.outerShape[a] = shape[i]; p.outerStrides[a++] = strides[i]; }
        }
        p.outerCount = Shapes.numel(p.outerShape);
        p.innerCount = Shapes.numel(p.innerShape);
        return p;
    }

    private static int offsetOf(int linear, int[] shape, int[] strides) {
        int o = 0;
        for (int d = shape.length - 1; d >= 0; d--) {
            int s = shape[d];
            o += (linear % s) * strides[d];
            linear /= s;
        }
        return o;
    }

    static Tensor reduce(ReduceOp op, Tensor x, int[] dims, boolean keepDim) {
        String name = op.name().toLowerCase();
        Cpu.requireCompute(name, x);
        boolean[] mask = reducedMask(name, dims, x.dim());
        Plan p = plan(x, mask);
        if (p.innerCount == 0 && (op == ReduceOp.MAX || op == ReduceOp.MIN)) {
            throw new dev.clipvil.tensor.ShapeException(name + ": cannot reduce an empty dimension of " + Shapes.str(x.shape()));
        }
        Tensor out = Tensor.empty(x.dtype(), outShape(x.shape(), mask, keepDim));
        HostStorage o = out.hostStorage();
        boolean f32 = x.dtype() == DType.F32;
        float[] af = f32 ? Cpu.f32(x) : null;
        double[] ad = f32 ? null : Cpu.f64(x);
        int inner = p.innerCount;
        int lastStride = p.innerShape.length == 0 ? 0 : p.innerStrides[p.innerShape.length - 1];
        int lastLen = p.innerShape.length == 0 ? 1 : p.innerShape[p.innerShape.length - 1];
        int rowsPerBlock = inner / Math.max(lastLen, 1);
        int[] rowShape = p.innerShape.length == 0 ? new int[0] : java.util.Arrays.copyOf(p.innerShape, p.innerShape.length - 1);
        int[] rowStrides = p.innerShape.length == 0 ? new int[0] : java.util.Arrays.copyOf(p.innerStrides, p.innerStrides.length - 1);
        Parallel.forRange(p.outerCount, Math.max(1, 4096 / Math.max(inner, 1)), (s, e) -> {
            for (int oi = s; oi < e; oi++) {
                int base = x.offset() + offsetOf(oi, p.outerShape, p.outerStrides);
                double acc = op == ReduceOp.MAX ? Double.NEGATIVE_INFINITY : op == ReduceOp.MIN ? Double.POSITIVE_INFINITY : 0;
                boolean nan = false;
                for (int r = 0; r < rowsPerBlock; r++) {
                    int ro = base + offsetOf(r, rowShape, rowStrides);
                    for (int c = 0; c < lastLen; c++) {
                        double v = f32 ? af[ro + c * lastStride] : ad[ro + c * lastStride];
                        switch (op) {
                            case SUM: case MEAN: acc += v; break;
                            case MAX: if (v > acc) acc = v; else if (v != v) nan = true; break;
                            default: if (v < acc) acc = v; else if (v != v) nan = true;
                        }
                    }
                }
                if (nan) acc = Double.NaN;
                if (op == ReduceOp.MEAN) acc /= inner;
                o.setDouble(oi, acc);
            }
        });
        return out;
    }

    static Tensor argmax(Tensor x, int dim, boolean keepDim) {
        Cpu.requireCompute("argmax", x);
        int d = Shapes.dim("argmax", dim, x.dim());
        boolean[] mask = new boolean[x.dim()];
        mask[d] = true;
        Plan p = plan(x, mask);
        Tensor out = Tensor.empty(DType.I64, outShape(x.shape(), mask, keepDim));
        long[] o = out.hostStorage().i64();
        HostStorage h = x.hostStorage();
        int len = x.shape(d), st = x.stride(d);
        for (int oi = 0; oi < p.outerCount; oi++) {
            int base = x.offset() + offsetOf(oi, p.outerShape, p.outerStrides);
            double best = Double.NEGATIVE_INFINITY;
            int bi = 0;
            for (int i = 0; i < len; i++) {
                double v = h.getDouble(base + i * st);
                if (v > best || (v != v && best == best)) { best = v; bi = i; }
            }
            o[oi] = bi;
        }
        return out;
    }

    static Tensor variance(Tensor x, int[] dims, int correction, boolean keepDim) {
        Cpu.requireCompute("var", x);
        boolean[] mask = reducedMask("var", dims, x.dim());
        Plan p = plan(x, mask);
        Tensor out = Tensor.empty(x.dtype(), outShape(x.shape(), mask, keepDim));
        HostStorage o = out.hostStorage(), h = x.hostStorage();
        int inner = p.innerCount;
        for (int oi = 0; oi < p.outerCount; oi++) {
            int base = x.offset() + offsetOf(oi, p.outerShape, p.outerStrides);
            double mean = 0;
            for (int i = 0; i < inner; i++) mean += h.getDouble(base + offsetOf(i, p.innerShape, p.innerStrides));
            mean /= inner;
            double ss = 0;
            for (int i = 0; i < inner; i++) {
                double v = h.getDouble(base + offsetOf(i, p.innerShape, p.innerStrides)) - mean;
                ss += v * v;
            }
            o.setDouble(oi, ss / Math.max(inner - correction, 0));
        }
        return out;
    }
}
