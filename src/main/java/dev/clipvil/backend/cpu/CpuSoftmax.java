package dev.clipvil.backend.cpu;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Softmax and log-softmax along any dim, and their gradients from the forward output. The tensor is
 * seen as "lines" along {@code dim}. F32 lines that are contiguous rows (the last dim with stride 1,
 * the common case) take a vectorised three-pass row kernel (max, exp-sum, scale) on an L1-resident
 * row; along another dim of a dense block, F32 takes a column kernel whose lanes run across
 * neighbouring lines (so memory is walked contiguously); any other layout, and F64, walks each line
 * with its stride. The row max is subtracted before exp. A row of all -inf gives NaN, as in PyTorch.
 */
final class CpuSoftmax {
    private CpuSoftmax() {}

    private static final VectorSpecies<Float> F = VecExp.F;
    private static final int L = F.length();

    /** Shape, lines and strides of a softmax along one dim. */
    private record Lines(int[] shape, int dim, int n, int count) {
        static Lines of(String op, int[] shape, int dim) {
            int rank = shape.length;
            int[] s = rank == 0 ? new int[]{1} : shape;
            int d = Shapes.dim(op, dim, s.length);
            int n = s[d];
            int count = n == 0 ? 0 : Shapes.numel(s) / n;
            return new Lines(s, d, n, count);
        }

        boolean lastDim() { return dim == shape.length - 1; }

        /** Storage offset of line {@code line} under {@code strides} (the line's dim skipped). */
        int offset(int line, int[] strides, int base) {
            int o = base;
            for (int k = shape.length - 1; k >= 0; k--) {
                if (k == dim) continue;
                int s = shape[k];
                o += (line % s) * strides[k];
                line /= s;
            }
            return o;
        }

        int grain() { return Math.max(1, 16384 / Math.max(n, 1)); }

        /** Elements per line step in a dense tensor: the product of the dims after {@code dim}. */
        int inner() {
            int r = 1;
            for (int k = dim + 1; k < shape.length; k++) r *= shape[k];
            return r;
        }

        /** True when the dims from {@code dim} on are laid out densely under {@code strides}. */
        boolean denseFromDim(int[] strides) {
            int expected = 1;
            for (int k = shape.length - 1; k > dim; k--) {
                if (shape[k] != 1 && strides[k] != expected) return false;
                expected *= shape[k];
            }
            return n == 1 || strides[dim] == expected;
        }
    }

    /** Columns per task of the column-block path (softmax along a non-last dim of a dense block). */
    private static final int COLS = 64;

    /** A body over column block (outer index, first column, width). */
    private interface ColumnBody {
        void run(int line, int width);
    }

    /** Runs {@code body} over blocks of up to COLS adjacent lines (same outer index, consecutive inner index). */
    private static void forColumnBlocks(Lines ln, int inner, ColumnBody body) {
        int blocks = (inner + COLS - 1) / COLS;
        int outer = ln.count / inner;
        Parallel.forRange(outer * blocks, Math.max(1, 16384 / Math.max(1, ln.n * COLS)), (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                int ob = t / blocks, c0 = (t % blocks) * COLS;
                body.run(ob * inner + c0, Math.min(COLS, inner - c0));
            }
        });
    }

    private static int[] stridesOf(Tensor t) { return t.dim() == 0 ? new int[]{1} : t.strides(); }

    // ---- forward --------------------------------------------------------------------------

    static Tensor softmax(Tensor x, int dim, boolean log) {
        String op = log ? "log_softmax" : "softmax";
        Cpu.requireCompute(op, x);
        Lines ln = Lines.of(op, x.shape(), dim);
        Tensor out = Tensor.empty(x.dtype(), x.shape());
        if (ln.count == 0) return out;
        int[] xs = stridesOf(x), os = stridesOf(out);
        int xStep = xs[ln.dim], oStep = os[ln.dim];
        int xBase = x.offset();
        if (x.dtype() == DType.F32) {
            float[] a = Cpu.f32(x), o = Cpu.f32(out);
            boolean rows = ln.lastDim() && (xStep == 1 || ln.n == 1);
            int inner = ln.inner();
            if (!rows && inner >= L && ln.denseFromDim(xs)) {
                forColumnBlocks(ln, inner, (line, w) -> {
                    float[] m = new float[COLS], sum = new float[COLS];
                    columnsF32(a, ln.offset(line, xs, xBase), xStep, o, ln.offset(line, os, 0), oStep, ln.n, w, log, m, sum);
                });
                return out;
            }
            Parallel.forRange(ln.count, ln.grain(), (l0, l1) -> {
                for (int l = l0; l < l1; l++) {
                    int ia = ln.offset(l, xs, xBase), io = ln.offset(l, os, 0);
                    if (rows) rowF32(a, ia, o, io, ln.n, log);
                    else lineF32(a, ia, xStep, o, io, oStep, ln.n, log);
                }
            });
        } else {
            double[] a = Cpu.f64(x), o = Cpu.f64(out);
            Parallel.forRange(ln.count, ln.grain(), (l0, l1) -> {
                for (int l = l0; l < l1; l++) lineF64(a, ln.offset(l, xs, xBase), xStep, o, ln.offset(l, os, 0), oStep, ln.n, log);
            });
        }
        return out;
    }

    /** One contiguous F32 row: vector max, vector exp-sum, vector scale. */
    static void rowF32(float[] a, int ia, float[] o, int io, int n, boolean log) {
        int ub = F.loopBound(n);
        float m = Float.NEGATIVE_INFINITY;
        int i = 0;
        if (ub > 0) {
            FloatVector vm = FloatVector.fromArray(F, a, ia);
            for (i = L; i < ub; i += L) vm = vm.max(FloatVector.fromArray(F, a, ia + i));
            m = vm.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) m = Math.max(m, a[ia + i]);
        FloatVector vmax = FloatVector.broadcast(F, m);
        FloatVector vs = FloatVector.zero(F);
        if (log) {
            for (i = 0; i < ub; i += L) vs = vs.add(VecExp.exp(FloatVector.fromArray(F, a, ia + i).sub(vmax)));
            float s = vs.reduceLanes(VectorOperators.ADD);
            for (; i < n; i++) s += VecExp.exp(a[ia + i] - m);
            float shift = m + (float) Math.log(s);
            FloatVector vShift = FloatVector.broadcast(F, shift);
            for (i = 0; i < ub; i += L) FloatVector.fromArray(F, a, ia + i).sub(vShift).intoArray(o, io + i);
            for (; i < n; i++) o[io + i] = a[ia + i] - shift;
        } else {
            for (i = 0; i < ub; i += L) {
                FloatVector e = VecExp.exp(FloatVector.fromArray(F, a, ia + i).sub(vmax));
                e.intoArray(o, io + i);
                vs = vs.add(e);
            }
            float s = vs.reduceLanes(VectorOperators.ADD);
            for (; i < n; i++) {
                float e = VecExp.exp(a[ia + i] - m);
                o[io + i] = e;
                s += e;
            }
            float inv = 1f / s;
            for (i = 0; i < ub; i += L) FloatVector.fromArray(F, o, io + i).mul(inv).intoArray(o, io + i);
            for (; i < n; i++) o[io + i] *= inv;
        }
    }

    /**
     * {@code w} adjacent F32 lines at once (lanes across lines): a[ia + j * as + c] for j < n, c < w.
     * Used along a non-last dim of a dense block, where walking one line at a time would stride
     * through memory.
     */
    private static void columnsF32(float[] a, int ia, int as, float[] o, int io, int os, int n, int w, boolean log,
                                   float[] m, float[] s) {
        int ub = F.loopBound(w);
        java.util.Arrays.fill(m, 0, w, Float.NEGATIVE_INFINITY);
        java.util.Arrays.fill(s, 0, w, 0f);
        for (int j = 0; j < n; j++) {
            int r = ia + j * as, c = 0;
            for (; c < ub; c += L) FloatVector.fromArray(F, m, c).max(FloatVector.fromArray(F, a, r + c)).intoArray(m, c);
            for (; c < w; c++) m[c] = Math.max(m[c], a[r + c]);
        }
        for (int j = 0; j < n; j++) {
            int r = ia + j * as, ro = io + j * os, c = 0;
            for (; c < ub; c += L) {
                FloatVector e = VecExp.exp(FloatVector.fromArray(F, a, r + c).sub(FloatVector.fromArray(F, m, c)));
                if (!log) e.intoArray(o, ro + c);
                FloatVector.fromArray(F, s, c).add(e).intoArray(s, c);
            }
            for (; c < w; c++) {
                float e = VecExp.exp(a[r + c] - m[c]);
                if (!log) o[ro + c] = e;
                s[c] += e;
            }
        }
        if (log) {
            for (int c = 0; c < w; c++) m[c] += (float) Math.log(s[c]);
            for (int j = 0; j < n; j++) {
                int r = ia + j * as, ro = io + j * os, c = 0;
                for (; c < ub; c += L) FloatVector.fromArray(F, a, r + c).sub(FloatVector.fromArray(F, m, c)).intoArray(o, ro + c);
                for (; c < w; c++) o[ro + c] = a[r + c] - m[c];
            }
        } else {
            for (int c = 0; c < w; c++) s[c] = 1f / s[c];
            for (int j = 0; j < n; j++) {
                int ro = io + j * os, c = 0;
                for (; c < ub; c += L) FloatVector.fromArray(F, o, ro + c).mul(FloatVector.fromArray(F, s, c)).intoArray(o, ro + c);
                for (; c < w; c++) o[ro + c] *= s[c];
            }
        }
    }

    /** One F32 line with arbitrary strides. */
    private static void lineF32(float[] a, int ia, int as, float[] o, int io, int os, int n, boolean log) {
        float m = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) m = Math.max(m, a[ia + j * as]);
        float s = 0;
        if (log) {
            for (int j = 0; j < n; j++) s += VecExp.exp(a[ia + j * as] - m);
            float shift = m + (float) Math.log(s);
            for (int j = 0; j < n; j++) o[io + j * os] = a[ia + j * as] - shift;
        } else {
            for (int j = 0; j < n; j++) {
                float e = VecExp.exp(a[ia + j * as] - m);
                o[io + j * os] = e;
                s += e;
            }
            float inv = 1f / s;
            for (int j = 0; j < n; j++) o[io + j * os] *= inv;
        }
    }

    private static void lineF64(double[] a, int ia, int as, double[] o, int io, int os, int n, boolean log) {
        double m = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) m = Math.max(m, a[ia + j * as]);
        double s = 0;
        if (log) {
            for (int j = 0; j < n; j++) s += Math.exp(a[ia + j * as] - m);
            double shift = m + Math.log(s);
            for (int j = 0; j < n; j++) o[io + j * os] = a[ia + j * as] - shift;
        } else {
            for (int j = 0; j < n; j++) {
                double e = Math.exp(a[ia + j * as] - m);
                o[io + j * os] = e;
                s += e;
            }
            double inv = 1.0 / s;
            for (int j = 0; j < n; j++) o[io + j * os] *= inv;
        }
    }

    // ---- backward -------------------------------------------------------------------------

    /**
     * softmax: gx = y * (gy - sum(gy * y)); log-softmax: gx = gy - exp(y) * sum(gy), sums along
     * {@code dim}.
     */
    static Tensor backward(Tensor y, Tensor gy, int dim, boolean log) {
        String op = log ? "log_softmax_backward" : "softmax_backward";
        Cpu.requireCompute(op, gy);
        Cpu.requireSameDType(op, y, gy);
        if (!java.util.Arrays.equals(y.shape(), gy.shape())) {
            throw new ShapeException(op + ": output " + Shapes.str(y.shape()) + " and gradient " + Shapes.str(gy.shape()) + " differ in shape");
        }
        Lines ln = Lines.of(op, y.shape(), dim);
        Tensor gx = Tensor.empty(gy.dtype(), gy.shape());
        if (ln.count == 0) return gx;
        int[] ys = stridesOf(y), gs = stridesOf(gy), os = stridesOf(gx);
        int yStep = ys[ln.dim], gStep = gs[ln.dim], oStep = os[ln.dim];
        int yBase = y.offset(), gBase = gy.offset();
        if (gy.dtype() == DType.F32) {
            float[] ya = Cpu.f32(y), ga = Cpu.f32(gy), o = Cpu.f32(gx);
            boolean rows = ln.lastDim() && ((yStep == 1 && gStep == 1) || ln.n == 1);
            int inner = ln.inner();
            if (!rows && inner >= L && ln.denseFromDim(ys) && ln.denseFromDim(gs)) {
                forColumnBlocks(ln, inner, (line, w) -> {
                    float[] sum = new float[COLS];
                    backColumnsF32(ya, ln.offset(line, ys, yBase), yStep, ga, ln.offset(line, gs, gBase), gStep,
                            o, ln.offset(line, os, 0), oStep, ln.n, w, log, sum);
                });
                return gx;
            }
            Parallel.forRange(ln.count, ln.grain(), (l0, l1) -> {
                for (int l = l0; l < l1; l++) {
                    int iy = ln.offset(l, ys, yBase), ig = ln.offset(l, gs, gBase), io = ln.offset(l, os, 0);
                    if (rows) backRowF32(ya, iy, ga, ig, o, io, ln.n, log);
                    else backLineF32(ya, iy, yStep, ga, ig, gStep, o, io, oStep, ln.n, log);
                }
            });
        } else {
            double[] ya = Cpu.f64(y), ga = Cpu.f64(gy), o = Cpu.f64(gx);
            Parallel.forRange(ln.count, ln.grain(), (l0, l1) -> {
                for (int l = l0; l < l1; l++) {
                    backLineF64(ya, ln.offset(l, ys, yBase), yStep, ga, ln.offset(l, gs, gBase), gStep,
                            o, ln.offset(l, os, 0), oStep, ln.n, log);
                }
            });
        }
        return gx;
    }

    private static void backRowF32(float[] y, int iy, float[] g, int ig, float[] o, int io, int n, boolean log) {
        int ub = F.loopBound(n);
        FloatVector acc = FloatVector.zero(F);
        int i;
        if (log) {
            for (i = 0; i < ub; i += L) acc = acc.add(FloatVector.fromArray(F, g, ig + i));
            float s = acc.reduceLanes(VectorOperators.ADD);
            for (; i < n; i++) s += g[ig + i];
            FloatVector vs = FloatVector.broadcast(F, s);
            for (i = 0; i < ub; i += L) {
                FloatVector e = VecExp.exp(FloatVector.fromArray(F, y, iy + i));
                FloatVector.fromArray(F, g, ig + i).sub(e.mul(vs)).intoArray(o, io + i);
            }
            for (; i < n; i++) o[io + i] = g[ig + i] - (float) Math.exp(y[iy + i]) * s;
        } else {
            for (i = 0; i < ub; i += L) acc = FloatVector.fromArray(F, g, ig + i).fma(FloatVector.fromArray(F, y, iy + i), acc);
            float s = acc.reduceLanes(VectorOperators.ADD);
            for (; i < n; i++) s += g[ig + i] * y[iy + i];
            FloatVector vs = FloatVector.broadcast(F, s);
            for (i = 0; i < ub; i += L) {
                FloatVector.fromArray(F, g, ig + i).sub(vs).mul(FloatVector.fromArray(F, y, iy + i)).intoArray(o, io + i);
            }
            for (; i < n; i++) o[io + i] = (g[ig + i] - s) * y[iy + i];
        }
    }

    /** The backward of {@link #columnsF32}: {@code w} adjacent lines at once. */
    private static void backColumnsF32(float[] y, int iy, int ys, float[] g, int ig, int gs, float[] o, int io, int os,
                                       int n, int w, boolean log, float[] s) {
        int ub = F.loopBound(w);
        java.util.Arrays.fill(s, 0, w, 0f);
        for (int j = 0; j < n; j++) {
            int ry = iy + j * ys, rg = ig + j * gs, c = 0;
            for (; c < ub; c += L) {
                FloatVector gv = FloatVector.fromArray(F, g, rg + c);
                FloatVector acc = FloatVector.fromArray(F, s, c);
                (log ? acc.add(gv) : gv.fma(FloatVector.fromArray(F, y, ry + c), acc)).intoArray(s, c);
            }
            for (; c < w; c++) s[c] += log ? g[rg + c] : g[rg + c] * y[ry + c];
        }
        for (int j = 0; j < n; j++) {
            int ry = iy + j * ys, rg = ig + j * gs, ro = io + j * os, c = 0;
            for (; c < ub; c += L) {
                FloatVector yv = FloatVector.fromArray(F, y, ry + c), gv = FloatVector.fromArray(F, g, rg + c), sv = FloatVector.fromArray(F, s, c);
                (log ? gv.sub(VecExp.exp(yv).mul(sv)) : gv.sub(sv).mul(yv)).intoArray(o, ro + c);
            }
            for (; c < w; c++) o[ro + c] = log ? g[rg + c] - (float) Math.exp(y[ry + c]) * s[c] : (g[rg + c] - s[c]) * y[ry + c];
        }
    }

    private static void backLineF32(float[] y, int iy, int ys, float[] g, int ig, int gs, float[] o, int io, int os, int n, boolean log) {
        float s = 0;
        if (log) {
            for (int j = 0; j < n; j++) s += g[ig + j * gs];
            for (int j = 0; j < n; j++) o[io + j * os] = g[ig + j * gs] - (float) Math.exp(y[iy + j * ys]) * s;
        } else {
            for (int j = 0; j < n; j++) s += g[ig + j * gs] * y[iy + j * ys];
            for (int j = 0; j < n; j++) o[io + j * os] = (g[ig + j * gs] - s) * y[iy + j * ys];
        }
    }

    private static void backLineF64(double[] y, int iy, int ys, double[] g, int ig, int gs, double[] o, int io, int os, int n, boolean log) {
        double s = 0;
        if (log) {
            for (int j = 0; j < n; j++) s += g[ig + j * gs];
            for (int j = 0; j < n; j++) o[io + j * os] = g[ig + j * gs] - Math.exp(y[iy + j * ys]) * s;
        } else {
            for (int j = 0; j < n; j++) s += g[ig + j * gs] * y[iy + j * ys];
            for (int j = 0; j < n; j++) o[io + j * os] = (g[ig + j * gs] - s) * y[iy + j * ys];
        }
    }
}
