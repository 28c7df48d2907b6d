package dev.clipvil.backend.cpu;

import dev.clipvil.backend.NormResult;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.HostStorage;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Batch norm over [N, C, ...] (statistics per channel over N and the trailing dims), with PyTorch's
 * semantics: training normalises with the batch mean and biased variance and moves the running
 * statistics toward the batch mean and the unbiased variance; eval uses the running statistics.
 * Work is split over channels; a channel is N contiguous blocks of S = prod(shape[2:]) elements in
 * a dense copy of the input, each block vectorised for F32 (sums accumulate in double).
 */
final class CpuBatchNorm {
    private CpuBatchNorm() {}

    private static final VectorSpecies<Float> F = VecExp.F;
    private static final int L = F.length();

    /** [N, C, S] view of an input shape. */
    private record Dims(int n, int c, int s) {
        static Dims of(String op, Tensor x) {
            if (x.dim() < 2) throw new ShapeException(op + ": input must be [N, C, ...], got " + Shapes.str(x.shape()));
            int[] sh = x.shape();
            int s = 1;
            for (int i = 2; i < sh.length; i++) s *= sh[i];
            return new Dims(sh[0], sh[1], s);
        }

        int count() { return n * s; }

        /** Offset of block (sample i, channel ch) in a dense tensor. */
        int block(int i, int ch) { return (i * c + ch) * s; }
    }

    private static void checkVector(String op, Tensor p, String what, int c, Tensor x, boolean sameDType) {
        if (p == null) return;
        if (sameDType) Cpu.requireSameDType(op, x, p);
        else if (!p.dtype().isFloating()) throw new DTypeException(op + ": " + what + " must be floating, got " + p.describe());
        if (p.dim() != 1 || p.shape(0) != c) {
            throw new ShapeException(op + ": " + what + " of shape " + Shapes.str(p.shape()) + " does not match input " + Shapes.str(x.shape()) + " (expected [" + c + "])");
        }
    }

    /** Element i of a 1-D tensor of any floating dtype and stride. */
    private static double at(Tensor t, int i) { return t.hostStorage().getDouble(t.offset() + i * t.stride(0)); }

    private static void set(Tensor t, int i, double v) { t.hostStorage().setDouble(t.offset() + i * t.stride(0), v); }

    /** weight (or 1) and bias (or 0) of each channel, as doubles. */
    private static double[] param(Tensor p, int c, double dflt) {
        double[] r = new double[c];
        for (int i = 0; i < c; i++) r[i] = p == null ? dflt : at(p, i);
        return r;
    }

    // ---- forward --------------------------------------------------------------------------

    static NormResult train(Tensor x, Tensor w, Tensor b, Tensor rm, Tensor rv, double momentum, double eps) {
        String op = "batch_norm";
        Cpu.requireCompute(op, x);
        Dims d = Dims.of(op, x);
        checkVector(op, w, "weight", d.c, x, true);
        checkVector(op, b, "bias", d.c, x, true);
        checkVector(op, rm, "running_mean", d.c, x, false);
        checkVector(op, rv, "running_var", d.c, x, false);
        int m = d.count();
        if (m <= 1) throw new ShapeException(op + ": expected more than 1 value per channel when training, got input " + Shapes.str(x.shape()));
        Tensor xd = Cpu.dense(x);
        Tensor out = Tensor.empty(x.dtype(), x.shape());
        Tensor mean = Tensor.empty(x.dtype(), d.c), rstd = Tensor.empty(x.dtype(), d.c);
        double[] mu = new double[d.c], var = new double[d.c];
        try {
            HostStorage xs = xd.hostStorage();
            int xo = xd.offset();
            Parallel.forRange(d.c, 1, (c0, c1) -> {
                for (int ch = c0; ch < c1; ch++) {
                    double s = 0;
                    for (int i = 0; i < d.n; i++) s += blockSum(xs, xo + d.block(i, ch), d.s);
                    double mc = s / m;
                    double v = 0;
                    for (int i = 0; i < d.n; i++) v += blockSumSqDev(xs, xo + d.block(i, ch), d.s, mc);
                    mu[ch] = mc;
                    var[ch] = Math.max(v / m, 0.0);
                }
            });
            double[] rs = new double[d.c];
            for (int ch = 0; ch < d.c; ch++) {
                rs[ch] = 1.0 / Math.sqrt(var[ch] + eps);
                mean.hostStorage().setDouble(ch, mu[ch]);
                rstd.hostStorage().setDouble(ch, rs[ch]);
                if (rm != null) set(rm, ch, (1 - momentum) * at(rm, ch) + momentum * mu[ch]);
                if (rv != null) set(rv, ch, (1 - momentum) * at(rv, ch) + momentum * var[ch] * m / (m - 1.0));
            }
            normalise(xd, d, mu, rs, w, b, out);
        } finally {
            Cpu.release(xd, x);
        }
        return new NormResult(out, mean, rstd);
    }

    static Tensor eval(Tensor x, Tensor w, Tensor b, Tensor rm, Tensor rv, double eps) {
        String op = "batch_norm";
        Cpu.requireCompute(op, x);
        Dims d = Dims.of(op, x);
        if (rm == null || rv == null) throw new IllegalArgumentException(op + ": running_mean and running_var are required in eval mode");
        checkVector(op, w, "weight", d.c, x, true);
        checkVector(op, b, "bias", d.c, x, true);
        checkVector(op, rm, "running_mean", d.c, x, false);
        checkVector(op, rv, "running_var", d.c, x, false);
        double[] mu = param(rm, d.c, 0), rs = new double[d.c];
        for (int ch = 0; ch < d.c; ch++) rs[ch] = 1.0 / Math.sqrt(at(rv, ch) + eps);
        Tensor xd = Cpu.dense(x);
        Tensor out = Tensor.empty(x.dtype(), x.shape());
        try {
            normalise(xd, d, mu, rs, w, b, out);
        } finally {
            Cpu.release(xd, x);
        }
        return out;
    }

    /** out = (x - mean) * rstd * w + b, per channel, as x * scale + shift. */
    private static void normalise(Tensor xd, Dims d, double[] mu, double[] rs, Tensor w, Tensor b, Tensor out) {
        double[] wa = param(w, d.c, 1), ba = param(b, d.c, 0);
        int xo = xd.offset();
        boolean f32 = xd.dtype() == DType.F32;
        Parallel.forRange(d.c, 1, (c0, c1) -> {
            for (int ch = c0; ch < c1; ch++) {
                double scale = rs[ch] * wa[ch], shift = ba[ch] - mu[ch] * scale;
                for (int i = 0; i < d.n; i++) {
                    int blk = d.block(i, ch);
                    if (f32) affineF32(Cpu.f32(xd), xo + blk, Cpu.f32(out), blk, d.s, (float) scale, (float) shift);
                    else {
                        double[] a = Cpu.f64(xd), o = Cpu.f64(out);
                        for (int j = 0; j < d.s; j++) o[blk + j] = a[xo + blk + j] * scale + shift;
                    }
                }
            }
        });
    }

    private static void affineF32(float[] a, int ia, float[] o, int io, int n, float scale, float shift) {
        int i = 0;
        if (n >= L) {
            FloatVector vs = FloatVector.broadcast(F, scale), vb = FloatVector.broadcast(F, shift);
            for (int ub = F.loopBound(n); i < ub; i += L) FloatVector.fromArray(F, a, ia + i).fma(vs, vb).intoArray(o, io + i);
        }
        for (; i < n; i++) o[io + i] = a[ia + i] * scale + shift;
    }

    private static double blockSum(HostStorage h, int off, int n) {
        if (h.dtype() == DType.F32) {
            float[] a = h.f32();
            if (n >= L) return VecSum.sum(a, off, n);
            double s = 0;
            for (int i = 0; i < n; i++) s += a[off + i];
            return s;
        }
        double[] a = h.f64();
        double s = 0;
        for (int i = 0; i < n; i++) s += a[off + i];
        return s;
    }

    private static double blockSumSqDev(HostStorage h, int off, int n, double m) {
        if (h.dtype() == DType.F32) {
            float[] a = h.f32();
            float mf = (float) m;
            // sum (x - mf)^2 = sum (x - m)^2 + 2 (m - mf) sum (x - m) + n (m - mf)^2; the middle terms of
            // all blocks of a channel add up to 0 (m is the channel mean), so only the last is removed
            double s = n >= L ? VecSum.sumSqDev(a, off, n, mf) : sqDevScalar(a, off, n, mf);
            double dm = m - mf;
            return s - n * dm * dm;
        }
        double[] a = h.f64();
        double s = 0;
        for (int i = 0; i < n; i++) {
            double v = a[off + i] - m;
            s += v * v;
        }
        return s;
    }

    private static double sqDevScalar(float[] a, int off, int n, float m) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            double v = a[off + i] - m;
            s += v * v;
        }
        return s;
    }

    // ---- backward -------------------------------------------------------------------------

    /**
     * Per channel, with xhat = (x - mean) * rstd, sg = sum(gy), sgx = sum(gy * xhat) and M = N * S:
     * training: gx = w rstd (gy - sg / M - xhat sgx / M); eval: gx = w rstd gy; gweight = sgx,
     * gbias = sg (null, null when w is null).
     */
    static Tensor[] backward(Tensor gy, Tensor x, Tensor w, Tensor mean, Tensor rstd, boolean training) {
        String op = "batch_norm_backward";
        Cpu.requireCompute(op, x);
        Cpu.requireSameDType(op, x, gy);
        if (!java.util.Arrays.equals(gy.shape(), x.shape())) {
            throw new ShapeException(op + ": gradient " + Shapes.str(gy.shape()) + " and input " + Shapes.str(x.shape()) + " differ in shape");
        }
        Dims d = Dims.of(op, x);
        checkVector(op, w, "weight", d.c, x, true);
        checkVector(op, mean, "mean", d.c, x, false);
        checkVector(op, rstd, "rstd", d.c, x, false);
        double[] mu = param(mean, d.c, 0), rs = param(rstd, d.c, 1), wa = param(w, d.c, 1);
        int m = d.count();
        Tensor gx = Tensor.empty(x.dtype(), x.shape());
        Tensor gw = w == null ? null : Tensor.empty(x.dtype(), d.c);
        Tensor gb = w == null ? null : Tensor.empty(x.dtype(), d.c);
        Tensor xd = Cpu.dense(x), gd = Cpu.dense(gy);
        try {
            HostStorage xs = xd.hostStorage(), gs = gd.hostStorage();
            int xo = xd.offset(), go = gd.offset();
            boolean f32 = x.dtype() == DType.F32;
            Parallel.forRange(d.c, 1, (c0, c1) -> {
                for (int ch = c0; ch < c1; ch++) {
                    double sg = 0, sgd = 0;
                    for (int i = 0; i < d.n; i++) {
                        int blk = d.block(i, ch);
                        sg += blockSum(gs, go + blk, d.s);
                        sgd += blockDotDev(gs, go + blk, xs, xo + blk, d.s, mu[ch]);
                    }
                    double sgx = sgd * rs[ch];
                    if (gw != null) {
                        gw.hostStorage().setDouble(ch, sgx);
                        gb.hostStorage().setDouble(ch, sg);
                    }
                    // gx = a gy + k (x - mean) + c0
                    double a = wa[ch] * rs[ch];
                    double k = training ? -a * rs[ch] * sgx / m : 0;
                    double c00 = training ? -a * sg / m : 0;
                    for (int i = 0; i < d.n; i++) {
                        int blk = d.block(i, ch);
                        if (f32) gradF32(Cpu.f32(gd), go + blk, Cpu.f32(xd), xo + blk, Cpu.f32(gx), blk, d.s,
                                (float) a, (float) k, (float) mu[ch], (float) c00);
                        else {
                            double[] g = Cpu.f64(gd), xa = Cpu.f64(xd), o = Cpu.f64(gx);
                            for (int j = 0; j < d.s; j++) o[blk + j] = a * g[go + blk + j] + k * (xa[xo + blk + j] - mu[ch]) + c00;
                        }
                    }
                }
            });
        } finally {
            Cpu.release(xd, x);
            Cpu.release(gd, gy);
        }
        return new Tensor[]{gx, gw, gb};
    }

    private static double blockDotDev(HostStorage gh, int go, HostStorage xh, int xo, int n, double m) {
        if (gh.dtype() == DType.F32) {
            float[] g = gh.f32(), x = xh.f32();
            float mf = (float) m;
            // sum g (x - m) = sum g (x - mf) - (m - mf) sum g
            double s;
            if (n >= L) s = VecSum.dotDev(g, go, x, xo, n, mf);
            else {
                s = 0;
                for (int i = 0; i < n; i++) s += (double) g[go + i] * (x[xo + i] - mf);
            }
            return s - (m - mf) * blockSum(gh, go, n);
        }
        double[] g = gh.f64(), x = xh.f64();
        double s = 0;
        for (int i = 0; i < n; i++) s += g[go + i] * (x[xo + i] - m);
        return s;
    }

    private static void gradF32(float[] g, int ig, float[] x, int ix, float[] o, int io, int n, float a, float k, float m, float c0) {
        int i = 0;
        if (n >= L) {
            FloatVector va = FloatVector.broadcast(F, a), vk = FloatVector.broadcast(F, k), vm = FloatVector.broadcast(F, m),
                    vc = FloatVector.broadcast(F, c0);
            for (int ub = F.loopBound(n); i < ub; i += L) {
                FloatVector gv = FloatVector.fromArray(F, g, ig + i).fma(va, vc);
                FloatVector.fromArray(F, x, ix + i).sub(vm).fma(vk, gv).intoArray(o, io + i);
            }
        }
        for (; i < n; i++) o[io + i] = a * g[ig + i] + k * (x[ix + i] - m) + c0;
    }
}
