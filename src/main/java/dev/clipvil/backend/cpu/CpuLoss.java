package dev.clipvil.backend.cpu;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.Arrays;

/**
 * Cross-entropy over logit rows (hard or soft targets) and elementwise binary cross-entropy with logits.
 * Rows are independent, so threads split them; each row is staged in a double buffer, so the log-sum-exp
 * is computed in double whatever the storage dtype.
 */
final class CpuLoss {
    private CpuLoss() {}

    // ---- cross-entropy ----------------------------------------------------------------------

    /** The checked inputs of a cross-entropy call: dense logits, and either class ids or dense soft targets. */
    private record Ce(Tensor logits, int n, int c, int[] classes, Tensor soft) {
        void release(Tensor origLogits, Tensor origTarget) {
            Cpu.release(logits, origLogits);
            if (soft != null) Cpu.release(soft, origTarget);
        }
    }

    private static Ce prepare(String op, Tensor logits, Tensor target, int ignoreIndex) {
        Cpu.requireCompute(op, logits);
        Cpu.requireRank(op, logits, 2, "logits");
        int n = logits.shape(0), c = logits.shape(1);
        int[] classes = null;
        Tensor soft = null;
        if (target.dtype() == DType.I32 || target.dtype() == DType.I64) {
            if (!Arrays.equals(target.shape(), new int[]{n})) {
                throw new ShapeException(op + ": class-index target of shape " + Shapes.str(target.shape()) + " does not match logits "
                        + Shapes.str(logits.shape()) + " (want [" + n + "])");
            }
            long[] t = target.toLongArray();
            classes = new int[n];
            for (int i = 0; i < n; i++) {
                long k = t[i];
                if (k == ignoreIndex) classes[i] = -1;
                else if (k < 0 || k >= c) {
                    throw new ShapeException(op + ": target " + k + " at row " + i + " is out of range for " + c + " classes (logits "
                            + Shapes.str(logits.shape()) + ", ignore index " + ignoreIndex + ")");
                } else classes[i] = (int) k;
            }
        } else if (target.dtype().isFloating()) {
            if (!Arrays.equals(target.shape(), logits.shape())) {
                throw new ShapeException(op + ": soft target of shape " + Shapes.str(target.shape()) + " does not match logits " + Shapes.str(logits.shape()));
            }
            soft = target.dtype() == logits.dtype() ? Cpu.dense(target) : CpuCopy.cast(target, logits.dtype());
        } else {
            throw new DTypeException(op + ": target must be class indices (I32/I64) or probabilities (floating), got " + target.describe());
        }
        return new Ce(Cpu.dense(logits), n, c, classes, soft);
    }

    static Tensor crossEntropy(Tensor logits, Tensor target, int ignoreIndex) {
        Ce ce = prepare("cross_entropy", logits, target, ignoreIndex);
        try {
            Tensor out = Tensor.empty(logits.dtype(), ce.n());
            int c = ce.c();
            Parallel.forRange(ce.n(), rowGrain(c), (r0, r1) -> {
                double[] row = new double[c], t = ce.soft() == null ? null : new double[c];
                for (int r = r0; r < r1; r++) {
                    double loss;
                    if (ce.classes() != null && ce.classes()[r] < 0) {
                        loss = 0;
                    } else {
                        load(ce.logits(), r * c, row, c);
                        double lse = logSumExp(row);
                        if (t == null) {
                            loss = lse - row[ce.classes()[r]];
                        } else {
                            load(ce.soft(), r * c, t, c);
                            loss = 0;
                            for (int k = 0; k < c; k++) if (t[k] != 0) loss -= t[k] * (row[k] - lse);
                        }
                    }
                    store(out, r, loss);
                }
            });
            return out;
        } finally {
            ce.release(logits, target);
        }
    }

    static Tensor crossEntropyBackward(Tensor logits, Tensor target, int ignoreIndex, Tensor gLoss) {
        String op = "cross_entropy_backward";
        Ce ce = prepare(op, logits, target, ignoreIndex);
        try {
            if (!Arrays.equals(gLoss.shape(), new int[]{ce.n()})) {
                throw new ShapeException(op + ": loss gradient of shape " + Shapes.str(gLoss.shape()) + " does not match [" + ce.n() + "] rows of logits "
                        + Shapes.str(logits.shape()));
            }
            double[] g = gLoss.toDoubleArray();
            int c = ce.c();
            Tensor out = Tensor.empty(logits.dtype(), ce.n(), c);
            Parallel.forRange(ce.n(), rowGrain(c), (r0, r1) -> {
                double[] row = new double[c], t = ce.soft() == null ? null : new double[c];
                for (int r = r0; r < r1; r++) {
                    if (ce.classes() != null && ce.classes()[r] < 0) {
                        Arrays.fill(row, 0);
                    } else {
                        load(ce.logits(), r * c, row, c);
                        double lse = logSumExp(row);
                        for (int k = 0; k < c; k++) row[k] = Math.exp(row[k] - lse);
                        if (t == null) {
                            row[ce.classes()[r]] -= 1;
                        } else {
                            // d/dz of -sum t log_softmax(z) = softmax(z) * sum(t) - t
                            load(ce.soft(), r * c, t, c);
                            double total = 0;
                            for (int k = 0; k < c; k++) total += t[k];
                            for (int k = 0; k < c; k++) row[k] = row[k] * total - t[k];
                        }
                        for (int k = 0; k < c; k++) row[k] *= g[r];
                    }
                    storeRow(out, r * c, row);
                }
            });
            return out;
        } finally {
            ce.release(logits, target);
        }
    }

    private static double logSumExp(double[] row) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : row) max = Math.max(max, v);
        if (max == Double.NEGATIVE_INFINITY) return max;
        double s = 0;
        for (double v : row) s += Math.exp(v - max);
        return max + Math.log(s);
    }

    private static int rowGrain(int c) { return Math.max(1, 4096 / Math.max(1, c)); }

    // ---- binary cross-entropy with logits ---------------------------------------------------

    static Tensor bceWithLogits(Tensor x, Tensor target) {
        String op = "binary_cross_entropy_with_logits";
        Tensor[] d = prepareBce(op, x, target, null);
        try {
            Tensor out = Tensor.empty(x.dtype(), x.shape());
            elementwise(d[0], d[1], null, out, (v, t, g) -> Math.max(v, 0) - v * t + Math.log1p(Math.exp(-Math.abs(v))));
            return out;
        } finally {
            Cpu.release(d[0], x);
            Cpu.release(d[1], target);
        }
    }

    static Tensor bceWithLogitsBackward(Tensor x, Tensor target, Tensor g) {
        String op = "binary_cross_entropy_with_logits_backward";
        Tensor[] d = prepareBce(op, x, target, g);
        try {
            Tensor out = Tensor.empty(x.dtype(), x.shape());
            elementwise(d[0], d[1], d[2], out, (v, t, gv) -> (sigmoid(v) - t) * gv);
            return out;
        } finally {
            Cpu.release(d[0], x);
            Cpu.release(d[1], target);
            Cpu.release(d[2], g);
        }
    }

    /** Dense x, target (cast to x's dtype) and g (likewise, when given). */
    private static Tensor[] prepareBce(String op, Tensor x, Tensor target, Tensor g) {
        Cpu.requireCompute(op, x);
        if (!target.dtype().isFloating()) throw new DTypeException(op + ": target must be floating (probabilities), got " + target.describe());
        for (Tensor t : g == null ? new Tensor[]{target} : new Tensor[]{target, g}) {
            if (!Arrays.equals(t.shape(), x.shape())) {
                throw new ShapeException(op + ": shape " + Shapes.str(t.shape()) + " does not match the logits " + Shapes.str(x.shape()));
            }
        }
        Tensor xd = Cpu.dense(x);
        Tensor td = target.dtype() == x.dtype() ? Cpu.dense(target) : CpuCopy.cast(target, x.dtype());
        Tensor gd = g == null ? null : g.dtype() == x.dtype() ? Cpu.dense(g) : CpuCopy.cast(g, x.dtype());
        return new Tensor[]{xd, td, gd};
    }

    private interface Map3 {
        double apply(double x, double t, double g);
    }

    private static void elementwise(Tensor x, Tensor t, Tensor g, Tensor out, Map3 f) {
        int n = out.numel();
        int xb = x.offset(), tb = t.offset(), gb = g == null ? 0 : g.offset();
        if (x.dtype() == DType.F32) {
            float[] xa = Cpu.f32(x), ta = Cpu.f32(t), ga = g == null ? null : Cpu.f32(g), oa = Cpu.f32(out);
            Parallel.forRange(n, 8192, (i0, i1) -> {
                for (int i = i0; i < i1; i++) oa[i] = (float) f.apply(xa[xb + i], ta[tb + i], ga == null ? 1 : ga[gb + i]);
            });
        } else {
            double[] xa = Cpu.f64(x), ta = Cpu.f64(t), ga = g == null ? null : Cpu.f64(g), oa = Cpu.f64(out);
            Parallel.forRange(n, 8192, (i0, i1) -> {
                for (int i = i0; i < i1; i++) oa[i] = f.apply(xa[xb + i], ta[tb + i], ga == null ? 1 : ga[gb + i]);
            });
        }
    }

    private static double sigmoid(double v) {
        if (v >= 0) return 1 / (1 + Math.exp(-v));
        double e = Math.exp(v);
        return e / (1 + e);
    }

    // ---- row staging ------------------------------------------------------------------------

    /** Copies {@code n} elements of dense F32/F64 {@code t}, from logical position {@code at}, into {@code buf}. */
    private static void load(Tensor t, int at, double[] buf, int n) {
        int o = t.offset() + at;
        if (t.dtype() == DType.F32) {
            float[] a = Cpu.f32(t);
            for (int k = 0; k < n; k++) buf[k] = a[o + k];
        } else {
            System.arraycopy(Cpu.f64(t), o, buf, 0, n);
        }
    }

    private static void storeRow(Tensor out, int at, double[] row) {
        if (out.dtype() == DType.F32) {
            float[] a = Cpu.f32(out);
            for (int k = 0; k < row.length; k++) a[at + k] = (float) row[k];
        } else {
            System.arraycopy(row, 0, Cpu.f64(out), at, row.length);
        }
    }

    private static void store(Tensor out, int i, double v) {
        if (out.dtype() == DType.F32) Cpu.f32(out)[i] = (float) v;
        else Cpu.f64(out)[i] = v;
    }
}
