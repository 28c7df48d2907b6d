package dev.clipvil.backend.cpu;

import dev.clipvil.backend.NormResult;
import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static dev.clipvil.backend.cpu.CpuSoftmaxTest.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** CPU batch norm (training and eval, forward and backward) against naive double loops and hand-computed values. */
class CpuBatchNormTest {
    private static final CpuBackend BE = CpuBackend.get();

    /** Per-channel {mean, biased var} of row-major x [N, C, S...]. */
    static double[][] stats(double[] x, int n, int c, int s) {
        double[] mean = new double[c], var = new double[c];
        for (int ch = 0; ch < c; ch++) {
            double sum = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < s; j++) sum += x[(i * c + ch) * s + j];
            mean[ch] = sum / (n * s);
            double v = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < s; j++) v += Math.pow(x[(i * c + ch) * s + j] - mean[ch], 2);
            var[ch] = v / (n * s);
        }
        return new double[][]{mean, var};
    }

    static double[] normalise(double[] x, int n, int c, int s, double[] mean, double[] var, double[] w, double[] b, double eps) {
        double[] out = new double[x.length];
        for (int i = 0; i < n; i++) {
            for (int ch = 0; ch < c; ch++) {
                for (int j = 0; j < s; j++) {
                    int k = (i * c + ch) * s + j;
                    out[k] = (x[k] - mean[ch]) / Math.sqrt(var[ch] + eps) * (w == null ? 1 : w[ch]) + (b == null ? 0 : b[ch]);
                }
            }
        }
        return out;
    }

    private static int spatial(int[] shape) {
        int s = 1;
        for (int i = 2; i < shape.length; i++) s *= shape[i];
        return s;
    }

    @Test
    void handComputedRunningStats() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor x = Tensor.of(new float[]{1, 10, 2, 20, 3, 30, 4, 40}, 4, 2);
            Tensor rm = Tensor.of(new float[]{0, 1}, 2), rv = Tensor.of(new float[]{1, 2}, 2);
            NormResult r = BE.batchNormTrain(x, null, null, rm, rv, 0.1, 0.0);
            // channel 0: mean 2.5, biased var 1.25, unbiased 5/3; channel 1: mean 25, biased 125, unbiased 500/3
            assertClose("running mean", new double[]{0.25, 0.9 + 2.5}, rm.toDoubleArray(), 1e-6, 1e-6);
            assertClose("running var", new double[]{0.9 + 0.1 * 5 / 3.0, 1.8 + 0.1 * 500 / 3.0}, rv.toDoubleArray(), 1e-5, 1e-6);
            assertClose("batch mean", new double[]{2.5, 25}, r.mean().toDoubleArray(), 1e-6, 1e-6);
            assertClose("batch rstd", new double[]{1 / Math.sqrt(1.25), 1 / Math.sqrt(125)}, r.rstd().toDoubleArray(), 1e-6, 1e-6);
            double a = 1 / Math.sqrt(1.25);
            assertClose("out", new double[]{-1.5 * a, -1.5 * a, -0.5 * a, -0.5 * a, 0.5 * a, 0.5 * a, 1.5 * a, 1.5 * a}, r.out().toDoubleArray(), 1e-6, 1e-6);
        }
    }

    @Test
    void trainingAndEvalMatchReference() {
        try (MemoryScope sc = MemoryScope.open()) {
            for (DType dt : new DType[]{DType.F32, DType.F64}) {
                double tol = dt == DType.F32 ? 2e-5 : 1e-12;
                for (int[] shape : new int[][]{{10, 3}, {3, 4, 5, 6}, {2, 5, 1, 3}, {4, 2, 9}}) {
                    int n = shape[0], c = shape[1], s = spatial(shape);
                    Tensor x = Creation.randn(shape.length + n, dt, shape);
                    Tensor w = Creation.randn(7, dt, c), b = Creation.randn(8, dt, c);
                    Tensor rm = Creation.randn(9, dt, c), rv = Creation.rand(10, dt, c);
                    double[] rm0 = rm.toDoubleArray(), rv0 = rv.toDoubleArray();
                    double[] xv = x.toDoubleArray();
                    double[][] st = stats(xv, n, c, s);
                    double mom = 0.3, eps = 1e-5;
                    NormResult r = BE.batchNormTrain(x, w, b, rm, rv, mom, eps);
                    String what = "batch_norm " + x.describe();
                    assertClose(what + " out", normalise(xv, n, c, s, st[0], st[1], w.toDoubleArray(), b.toDoubleArray(), eps), r.out().toDoubleArray(), tol, tol);
                    double[] wantRm = new double[c], wantRv = new double[c], wantRstd = new double[c];
                    int m = n * s;
                    for (int ch = 0; ch < c; ch++) {
                        wantRm[ch] = (1 - mom) * rm0[ch] + mom * st[0][ch];
                        wantRv[ch] = (1 - mom) * rv0[ch] + mom * st[1][ch] * m / (m - 1);
                        wantRstd[ch] = 1 / Math.sqrt(st[1][ch] + eps);
                    }
                    assertClose(what + " mean", st[0], r.mean().toDoubleArray(), tol, tol);
                    assertClose(what + " rstd", wantRstd, r.rstd().toDoubleArray(), tol, tol);
                    assertClose(what + " running mean", wantRm, rm.toDoubleArray(), tol, tol);
                    assertClose(what + " running var", wantRv, rv.toDoubleArray(), tol, tol);
                    Tensor ev = BE.batchNormEval(x, w, null, rm, rv, eps);
                    assertClose(what + " eval", normalise(xv, n, c, s, wantRm, wantRv, w.toDoubleArray(), null, eps), ev.toDoubleArray(), tol, tol);
                }
            }
        }
    }

    @Test
    void nonContiguousInputAndNoRunningStats() {
        try (MemoryScope sc = MemoryScope.open()) {
            Tensor base = Creation.randn(11, DType.F32, 6, 5, 4); // viewed as [N=4, C=5, S=6]
            Tensor x = base.asStrided(new int[]{4, 5, 6}, new int[]{1, 4, 20}, 0);
            double[] xv = x.toDoubleArray();
            double[][] st = stats(xv, 4, 5, 6);
            NormResult r = BE.batchNormTrain(x, null, null, null, null, 0.1, 1e-5);
            assertClose("batch_norm(strided)", normalise(xv, 4, 5, 6, st[0], st[1], null, null, 1e-5), r.out().toDoubleArray(), 2e-5, 2e-5);
        }
    }

    /** {gx, gw, gb} by the chain rule, in double. */
    static double[][] referenceBackward(double[] gy, double[] x, int n, int c, int s, double[] w, double[] mean, double[] rstd, boolean training) {
        double[] gx = new double[x.length], gw = new double[c], gb = new double[c];
        int m = n * s;
        for (int ch = 0; ch < c; ch++) {
            double sg = 0, sgx = 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < s; j++) {
                    int k = (i * c + ch) * s + j;
                    sg += gy[k];
                    sgx += gy[k] * (x[k] - mean[ch]) * rstd[ch];
                }
            }
            gw[ch] = sgx;
            gb[ch] = sg;
            double wc = w == null ? 1 : w[ch];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < s; j++) {
                    int k = (i * c + ch) * s + j;
                    double xh = (x[k] - mean[ch]) * rstd[ch];
                    gx[k] = training ? wc * rstd[ch] * (gy[k] - sg / m - xh * sgx / m) : wc * rstd[ch] * gy[k];
                }
            }
        }
        return new double[][]{gx, gw, gb};
    }

    @Test
    void backwardInBothModes() {
        try (MemoryScope sc = MemoryScope.open()) {
            for (DType dt : new DType[]{DType.F32, DType.F64}) {
                double tol = dt == DType.F32 ? 5e-5 : 1e-11;
                for (int[] shape : new int[][]{{10, 3}, {3, 4, 5, 6}, {2, 3, 17}}) {
                    int n = shape[0], c = shape[1], s = spatial(shape);
                    Tensor x = Creation.randn(20 + n, dt, shape), gy = Creation.randn(30 + n, dt, shape);
                    Tensor w = Creation.randn(40, dt, c);
                    NormResult r = BE.batchNormTrain(x, w, null, null, null, 0.1, 1e-5);
                    for (boolean training : new boolean[]{true, false}) {
                        Tensor[] g = BE.batchNormBackward(gy, x, w, r.mean(), r.rstd(), training);
                        double[][] want = referenceBackward(gy.toDoubleArray(), x.toDoubleArray(), n, c, s, w.toDoubleArray(),
                                r.mean().toDoubleArray(), r.rstd().toDoubleArray(), training);
                        String what = "batch_norm_backward training=" + training + " " + x.describe();
                        assertClose(what + " gx", want[0], g[0].toDoubleArray(), tol, tol);
                        assertClose(what + " gw", want[1], g[1].toDoubleArray(), tol, tol);
                        assertClose(what + " gb", want[2], g[2].toDoubleArray(), tol, tol);
                        Tensor[] g2 = BE.batchNormBackward(gy, x, null, r.mean(), r.rstd(), training);
                        double[][] want2 = referenceBackward(gy.toDoubleArray(), x.toDoubleArray(), n, c, s, null,
                                r.mean().toDoubleArray(), r.rstd().toDoubleArray(), training);
                        assertClose(what + " gx (no weight)", want2[0], g2[0].toDoubleArray(), tol, tol);
                    }
                }
            }
        }
    }

    @Test
    void rejectsBadArguments() {
        try (MemoryScope sc = MemoryScope.open()) {
            Tensor x = Creation.randn(1, DType.F32, 4, 3);
            assertThrows(ShapeException.class, () -> BE.batchNormTrain(Creation.randn(1, DType.F32, 1, 3), null, null, null, null, 0.1, 1e-5));
            assertThrows(ShapeException.class, () -> BE.batchNormTrain(Creation.randn(1, DType.F32, 4), null, null, null, null, 0.1, 1e-5));
            assertThrows(ShapeException.class, () -> BE.batchNormTrain(x, Creation.randn(2, DType.F32, 4), null, null, null, 0.1, 1e-5));
            assertThrows(IllegalArgumentException.class, () -> BE.batchNormEval(x, null, null, null, null, 1e-5));
            Tensor out = BE.batchNormEval(x, null, null, Creation.zeros(DType.F32, 3), Creation.ones(DType.F32, 3), 0);
            assertArrayEquals(x.toDoubleArray(), out.toDoubleArray(), 1e-6);
        }
    }
}
