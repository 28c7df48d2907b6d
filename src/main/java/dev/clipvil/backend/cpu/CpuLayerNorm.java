package dev.clipvil.backend.cpu;

import dev.clipvil.backend.NormResult;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Layer norm over the last dim, multithreaded over rows. F32 rows are vectorised: a sum pass and a
 * centred sum-of-squares pass (two passes over a row that sits in L1, so the variance does not
 * suffer the cancellation of E[x^2] - E[x]^2), lane totals reduced in double, then one normalise
 * pass. The backward reduces gweight/gbias over rows with per-chunk partials summed in a fixed
 * order, so results do not depend on thread timing.
 */
final class CpuLayerNorm {
    private CpuLayerNorm() {}

    private static final VectorSpecies<Float> F = VecExp.F;
    private static final int L = F.length();
    /** Rows accumulated in float before a chunk's gweight/gbias partial is flushed into double. */
    private static final int FLUSH_ROWS = 64;

    private static void checkParam(String op, Tensor p, String what, int c, Tensor x) {
        if (p == null) return;
        Cpu.requireSameDType(op, x, p);
        if (p.dim() != 1 || p.shape(0) != c) {
            throw new ShapeException(op + ": " + what + " of shape " + Shapes.str(p.shape()) + " does not match input " + Shapes.str(x.shape()) + " (expected [" + c + "])");
        }
    }

    private static int cols(String op, Tensor x) {
        if (x.dim() == 0) throw new ShapeException(op + ": input must have at least one dimension, got a scalar");
        return x.shape(-1);
    }

    private static int rows(Tensor x, int c) {
        int[] s = x.shape();
        int r = 1;
        for (int i = 0; i < s.length - 1; i++) r *= s[i];
        return r;
    }

    // ---- forward --------------------------------------------------------------------------

    static NormResult forward(Tensor x, Tensor w, Tensor b, double eps) {
        String op = "layer_norm";
        Cpu.requireCompute(op, x);
        int c = cols(op, x);
        checkParam(op, w, "weight", c, x);
        checkParam(op, b, "bias", c, x);
        int rows = rows(x, c);
        Tensor out = Tensor.empty(x.dtype(), x.shape());
        Tensor mean = Tensor.empty(x.dtype(), rows);
        Tensor rstd = Tensor.empty(x.dtype(), rows);
        Tensor xd = Cpu.dense(x), wd = w == null ? null : Cpu.dense(w), bd = b == null ? null : Cpu.dense(b);
        try {
            int grain = Math.max(1, 8192 / Math.max(c, 1));
            if (x.dtype() == DType.F32) {
                float[] a = Cpu.f32(xd), o = Cpu.f32(out), mu = Cpu.f32(mean), rs = Cpu.f32(rstd);
                float[] wa = wd == null ? null : Cpu.f32(wd), ba = bd == null ? null : Cpu.f32(bd);
                int xo = xd.offset(), wo = wd == null ? 0 : wd.offset(), bo = bd == null ? 0 : bd.offset();
                Parallel.forRange(rows, grain, (r0, r1) -> {
                    for (int r = r0; r < r1; r++) rowF32(a, xo + r * c, c, wa, wo, ba, bo, eps, o, r * c, mu, rs, r);
                });
            } else {
                double[] a = Cpu.f64(xd), o = Cpu.f64(out), mu = Cpu.f64(mean), rs = Cpu.f64(rstd);
                double[] wa = wd == null ? null : Cpu.f64(wd), ba = bd == null ? null : Cpu.f64(bd);
                int xo = xd.offset(), wo = wd == null ? 0 : wd.offset(), bo = bd == null ? 0 : bd.offset();
                Parallel.forRange(rows, grain, (r0, r1) -> {
                    for (int r = r0; r < r1; r++) rowF64(a, xo + r * c, c, wa, wo, ba, bo, eps, o, r * c, mu, rs, r);
                });
            }
        } finally {
            Cpu.release(xd, x);
            if (wd != null) Cpu.release(wd, w);
            if (bd != null) Cpu.release(bd, b);
        }
        return new NormResult(out, mean, rstd);
    }

    private static void rowF32(float[] a, int ia, int c, float[] w, int wo, float[] b, int bo, double eps,
                               float[] o, int io, float[] mu, float[] rs, int r) {
        double meanD = VecSum.sum(a, ia, c) / c;
        float m = (float) meanD;
        // the residual (mean - m) keeps the centred sum exact to first order
        double var = VecSum.sumSqDev(a, ia, c, m) / c - (meanD - m) * (meanD - m);
        float rstd = (float) (1.0 / Math.sqrt(Math.max(var, 0.0) + eps));
        mu[r] = m;
        rs[r] = rstd;
        float shift = -m * rstd;
        FloatVector vr = FloatVector.broadcast(F, rstd), vs = FloatVector.broadcast(F, shift);
        int ub = F.loopBound(c), i = 0;
        if (w != null && b != null) {
            for (; i < ub; i += L) {
                FloatVector y = FloatVector.fromArray(F, a, ia + i).fma(vr, vs);
                y.fma(FloatVector.fromArray(F, w, wo + i), FloatVector.fromArray(F, b, bo + i)).intoArray(o, io + i);
            }
            for (; i < c; i++) o[io + i] = (a[ia + i] * rstd + shift) * w[wo + i] + b[bo + i];
        } else if (w != null) {
            for (; i < ub; i += L) {
                FloatVector.fromArray(F, a, ia + i).fma(vr, vs).mul(FloatVector.fromArray(F, w, wo + i)).intoArray(o, io + i);
            }
            for (; i < c; i++) o[io + i] = (a[ia + i] * rstd + shift) * w[wo + i];
        } else if (b != null) {
            for (; i < ub; i += L) {
                FloatVector.fromArray(F, a, ia + i).fma(vr, vs).add(FloatVector.fromArray(F, b, bo + i)).intoArray(o, io + i);
            }
            for (; i < c; i++) o[io + i] = a[ia + i] * rstd + shift + b[bo + i];
        } else {
            for (; i < ub; i += L) FloatVector.fromArray(F, a, ia + i).fma(vr, vs).intoArray(o, io + i);
            for (; i < c; i++) o[io + i] = a[ia + i] * rstd + shift;
        }
    }

    private static void rowF64(double[] a, int ia, int c, double[] w, int wo, double[] b, int bo, double eps,
                               double[] o, int io, double[] mu, double[] rs, int r) {
        double s = 0;
        for (int i = 0; i < c; i++) s += a[ia + i];
        double m = s / c;
        double v = 0;
        for (int i = 0; i < c; i++) {
            double d = a[ia + i] - m;
            v += d * d;
        }
        double rstd = 1.0 / Math.sqrt(v / c + eps);
        mu[r] = m;
        rs[r] = rstd;
        for (int i = 0; i < c; i++) {
            double y = (a[ia + i] - m) * rstd;
            if (w != null) y *= w[wo + i];
            if (b != null) y += b[bo + i];
            o[io + i] = y;
        }
    }

    // ---- backward -------------------------------------------------------------------------

    /**
     * With xhat = (x - mean) * rstd and g = gy * w: gx = rstd * (g - mean(g) - xhat * mean(g * xhat));
     * gweight = sum over rows of gy * xhat, gbias = sum over rows of gy (both null when w is null).
     */
    static Tensor[] backward(Tensor gy, Tensor x, Tensor w, Tensor mean, Tensor rstd) {
        String op = "layer_norm_backward";
        Cpu.requireCompute(op, x);
        Cpu.requireSameDType(op, x, gy);
        Cpu.requireSameDType(op, x, mean);
        Cpu.requireSameDType(op, x, rstd);
        if (!java.util.Arrays.equals(gy.shape(), x.shape())) {
            throw new ShapeException(op + ": gradient " + Shapes.str(gy.shape()) + " and input " + Shapes.str(x.shape()) + " differ in shape");
        }
        int c = cols(op, x);
        checkParam(op, w, "weight", c, x);
        int rows = rows(x, c);
        if (mean.numel() != rows || rstd.numel() != rows) {
            throw new ShapeException(op + ": mean " + Shapes.str(mean.shape()) + " / rstd " + Shapes.str(rstd.shape())
                    + " do not have one value per row of " + Shapes.str(x.shape()) + " (" + rows + " rows)");
        }
        Tensor gx = Tensor.empty(x.dtype(), x.shape());
        Tensor gw = w == null ? null : Tensor.empty(x.dtype(), c);
        Tensor gb = w == null ? null : Tensor.empty(x.dtype(), c);
        Tensor xd = Cpu.dense(x), gd = Cpu.dense(gy), wd = w == null ? null : Cpu.dense(w);
        Tensor md = Cpu.dense(mean), rd = Cpu.dense(rstd);
        try {
            int chunks = Math.max(1, Math.min(rows, 32));
            boolean params = w != null;
            double[][] pw = params ? new double[chunks][] : null, pb = params ? new double[chunks][] : null;
            if (x.dtype() == DType.F32) {
                float[] a = Cpu.f32(xd), g = Cpu.f32(gd), o = Cpu.f32(gx), mu = Cpu.f32(md), rs = Cpu.f32(rd);
                float[] wa = params ? Cpu.f32(wd) : null;
                int xo = xd.offset(), go = gd.offset(), wo = params ? wd.offset() : 0, mo = md.offset(), ro = rd.offset();
                Parallel.forRange(chunks, 1, (c0, c1) -> {
                    for (int ch = c0; ch < c1; ch++) {
                        int r0 = (int) ((long) rows * ch / chunks), r1 = (int) ((long) rows * (ch + 1) / chunks);
                        float[] fw = params ? new float[c] : null, fb = params ? new float[c] : null;
                        double[] dw = params ? new double[c] : null, db = params ? new double[c] : null;
                        for (int r = r0; r < r1; r++) {
                            backRowF32(a, xo + r * c, g, go + r * c, wa, wo, mu[mo + r], rs[ro + r], o, r * c, c, fw, fb);
                            if (params && ((r - r0 + 1) % FLUSH_ROWS == 0 || r == r1 - 1)) {
                                flush(fw, dw);
                                flush(fb, db);
                            }
                        }
                        if (params) {
                            pw[ch] = dw;
                            pb[ch] = db;
                        }
                    }
                });
            } else {
                double[] a = Cpu.f64(xd), g = Cpu.f64(gd), o = Cpu.f64(gx), mu = Cpu.f64(md), rs = Cpu.f64(rd);
                double[] wa = params ? Cpu.f64(wd) : null;
                int xo = xd.offset(), go = gd.offset(), wo = params ? wd.offset() : 0, mo = md.offset(), ro = rd.offset();
                Parallel.forRange(chunks, 1, (c0, c1) -> {
                    for (int ch = c0; ch < c1; ch++) {
                        int r0 = (int) ((long) rows * ch / chunks), r1 = (int) ((long) rows * (ch + 1) / chunks);
                        double[] dw = params ? new double[c] : null, db = params ? new double[c] : null;
                        for (int r = r0; r < r1; r++) {
                            backRowF64(a, xo + r * c, g, go + r * c, wa, wo, mu[mo + r], rs[ro + r], o, r * c, c, dw, db);
                        }
                        if (params) {
                            pw[ch] = dw;
                            pb[ch] = db;
                        }
                    }
                });
            }
            if (params) {
                reduceInto(pw, gw, c);
                reduceInto(pb, gb, c);
            }
        } finally {
            Cpu.release(xd, x);
            Cpu.release(gd, gy);
            if (wd != null) Cpu.release(wd, w);
            Cpu.release(md, mean);
            Cpu.release(rd, rstd);
        }
        return new Tensor[]{gx, gw, gb};
    }

    private static void flush(float[] f, double[] d) {
        for (int i = 0; i < f.length; i++) {
            d[i] += f[i];
            f[i] = 0;
        }
    }

    /** Sums the per-chunk partials in chunk order into {@code out} (contiguous, length c). */
    private static void reduceInto(double[][] parts, Tensor out, int c) {
        double[] total = new double[c];
        for (double[] p : parts) {
            if (p == null) continue;
            for (int i = 0; i < c; i++) total[i] += p[i];
        }
        if (out.dtype() == DType.F32) {
            float[] o = Cpu.f32(out);
            for (int i = 0; i < c; i++) o[i] = (float) total[i];
        } else {
            System.arraycopy(total, 0, Cpu.f64(out), 0, c);
        }
    }

    private static void backRowF32(float[] x, int ix, float[] gy, int ig, float[] w, int wo, float mean, float rstd,
                                   float[] o, int io, int c, float[] fw, float[] fb) {
        FloatVector vm = FloatVector.broadcast(F, mean), vr = FloatVector.broadcast(F, rstd);
        FloatVector sg = FloatVector.zero(F), sgx = sg;
        int ub = F.loopBound(c), i = 0;
        for (; i < ub; i += L) {
            FloatVector xh = FloatVector.fromArray(F, x, ix + i).sub(vm).mul(vr);
            FloatVector gv = FloatVector.fromArray(F, gy, ig + i);
            if (w != null) {
                FloatVector.fromArray(F, fw, i).add(gv.mul(xh)).intoArray(fw, i);
                FloatVector.fromArray(F, fb, i).add(gv).intoArray(fb, i);
                gv = gv.mul(FloatVector.fromArray(F, w, wo + i));
            }
            sg = sg.add(gv);
            sgx = gv.fma(xh, sgx);
        }
        double s1 = sg.reduceLanes(VectorOperators.ADD), s2 = sgx.reduceLanes(VectorOperators.ADD);
        for (int j = i; j < c; j++) {
            float xh = (x[ix + j] - mean) * rstd;
            float gv = gy[ig + j];
            if (w != null) {
                fw[j] += gv * xh;
                fb[j] += gv;
                gv *= w[wo + j];
            }
            s1 += gv;
            s2 += gv * xh;
        }
        float c1 = (float) (s1 / c), c2 = (float) (s2 / c);
        FloatVector vc1 = FloatVector.broadcast(F, c1), vc2 = FloatVector.broadcast(F, c2);
        for (i = 0; i < ub; i += L) {
            FloatVector xh = FloatVector.fromArray(F, x, ix + i).sub(vm).mul(vr);
            FloatVector gv = FloatVector.fromArray(F, gy, ig + i);
            if (w != null) gv = gv.mul(FloatVector.fromArray(F, w, wo + i));
            gv.sub(vc1).sub(xh.mul(vc2)).mul(vr).intoArray(o, io + i);
        }
        for (; i < c; i++) {
            float xh = (x[ix + i] - mean) * rstd;
            float gv = gy[ig + i];
            if (w != null) gv *= w[wo + i];
            o[io + i] = (gv - c1 - xh * c2) * rstd;
        }
    }

    private static void backRowF64(double[] x, int ix, double[] gy, int ig, double[] w, int wo, double mean, double rstd,
                                   double[] o, int io, int c, double[] dw, double[] db) {
        double s1 = 0, s2 = 0;
        for (int j = 0; j < c; j++) {
            double xh = (x[ix + j] - mean) * rstd;
            double gv = gy[ig + j];
            if (w != null) {
                dw[j] += gv * xh;
                db[j] += gv;
                gv *= w[wo + j];
            }
            s1 += gv;
            s2 += gv * xh;
        }
        double c1 = s1 / c, c2 = s2 / c;
        for (int j = 0; j < c; j++) {
            double xh = (x[ix + j] - mean) * rstd;
            double gv = gy[ig + j];
            if (w != null) gv *= w[wo + j];
            o[io + j] = (gv - c1 - xh * c2) * rstd;
        }
    }
}
