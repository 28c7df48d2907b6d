package dev.clipvil.backend.cpu;

import dev.clipvil.backend.BinaryOp;
import dev.clipvil.backend.NormResult;
import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static dev.clipvil.backend.cpu.CpuSoftmaxTest.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** CPU layer norm forward and backward against naive double loops. */
class CpuLayerNormTest {
    private static final CpuBackend BE = CpuBackend.get();

    /** {out, mean, rstd} of rows of length c, in double. */
    static double[][] reference(double[] x, int c, double[] w, double[] b, double eps) {
        int rows = x.length / c;
        double[] out = new double[x.length], mean = new double[rows], rstd = new double[rows];
        for (int r = 0; r < rows; r++) {
            double m = 0, v = 0;
            for (int j = 0; j < c; j++) m += x[r * c + j];
            m /= c;
            for (int j = 0; j < c; j++) v += (x[r * c + j] - m) * (x[r * c + j] - m);
            double rs = 1 / Math.sqrt(v / c + eps);
            mean[r] = m;
            rstd[r] = rs;
            for (int j = 0; j < c; j++) {
                double y = (x[r * c + j] - m) * rs;
                out[r * c + j] = y * (w == null ? 1 : w[j]) + (b == null ? 0 : b[j]);
            }
        }
        return new double[][]{out, mean, rstd};
    }

    /** {gx, gw, gb} in double, straight from the chain rule over each row. */
    static double[][] referenceBackward(double[] gy, double[] x, int c, double[] w, double eps) {
        int rows = x.length / c;
        double[][] f = reference(x, c, null, null, eps);
        double[] gx = new double[x.length], gw = new double[c], gb = new double[c];
        for (int r = 0; r < rows; r++) {
            double rs = f[2][r];
            double[] g = new double[c], xh = new double[c];
            for (int j = 0; j < c; j++) {
                xh[j] = f[0][r * c + j];
                g[j] = gy[r * c + j] * (w == null ? 1 : w[j]);
                gw[j] += gy[r * c + j] * xh[j];
                gb[j] += gy[r * c + j];
            }
            // d xhat_j / d x_k = rs (delta_jk - 1/c - xhat_j xhat_k / c)
            for (int k = 0; k < c; k++) {
                double s = 0;
                for (int j = 0; j < c; j++) s += g[j] * rs * ((j == k ? 1 : 0) - 1.0 / c - xh[j] * xh[k] / c);
                gx[r * c + k] = s;
            }
        }
        return new double[][]{gx, gw, gb};
    }

    private static void checkForward(Tensor x, Tensor w, Tensor b, double eps, double tol) {
        int c = x.shape(-1);
        double[][] want = reference(x.toDoubleArray(), c, w == null ? null : w.toDoubleArray(), b == null ? null : b.toDoubleArray(), eps);
        NormResult r = BE.layerNorm(x, w, b, eps);
        assertArrayEquals(x.shape(), r.out().shape());
        assertArrayEquals(new int[]{x.numel() / c}, r.mean().shape());
        String what = "layer_norm " + x.describe() + (w == null ? "" : " w") + (b == null ? "" : " b");
        assertClose(what + " out", want[0], r.out().toDoubleArray(), tol, tol);
        assertClose(what + " mean", want[1], r.mean().toDoubleArray(), tol, tol);
        assertClose(what + " rstd", want[2], r.rstd().toDoubleArray(), tol, tol);
    }

    @Test
    void forwardWithAndWithoutAffine() {
        try (MemoryScope s = MemoryScope.open()) {
            for (DType dt : new DType[]{DType.F32, DType.F64}) {
                double tol = dt == DType.F32 ? 1e-5 : 1e-12;
                for (int c : new int[]{1, 5, 8, 37, 768}) {
                    Tensor x = Creation.randn(c, dt, 3, 7, c);
                    Tensor w = Creation.randn(c + 1, dt, c), b = Creation.randn(c + 2, dt, c);
                    checkForward(x, w, b, 1e-5, tol);
                    checkForward(x, null, null, 1e-5, tol);
                    checkForward(x, w, null, 1e-6, tol);
                    checkForward(x, null, b, 1e-6, tol);
                }
            }
        }
    }

    @Test
    void nonContiguousAndManyRows() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor base = Creation.randn(3, DType.F32, 40, 23);
            Tensor t = base.asStrided(new int[]{23, 40}, new int[]{1, 23}, 0);
            Tensor w = Creation.randn(4, DType.F32, 80).asStrided(new int[]{40}, new int[]{2}, 1);
            checkForward(t, w, null, 1e-5, 1e-5);
            checkForward(Creation.randn(5, DType.F32, 1000, 19), null, null, 1e-5, 1e-5);
        }
    }

    @Test
    void largeMeanKeepsPrecision() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor x = BE.binaryScalar(BinaryOp.ADD, Creation.randn(6, DType.F32, 16, 300), 1000.0);
            checkForward(x, null, null, 1e-5, 2e-4);
        }
    }

    private static void checkBackward(Tensor gy, Tensor x, Tensor w, double eps, double tol) {
        int c = x.shape(-1);
        NormResult r = BE.layerNorm(x, w, null, eps);
        Tensor[] g = BE.layerNormBackward(gy, x, w, r.mean(), r.rstd());
        double[][] want = referenceBackward(gy.toDoubleArray(), x.toDoubleArray(), c, w == null ? null : w.toDoubleArray(), eps);
        String what = "layer_norm_backward " + x.describe() + (w == null ? "" : " w");
        assertClose(what + " gx", want[0], g[0].toDoubleArray(), tol, tol);
        if (w == null) {
            assertNull(g[1]);
            assertNull(g[2]);
        } else {
            assertClose(what + " gw", want[1], g[1].toDoubleArray(), tol, tol);
            assertClose(what + " gb", want[2], g[2].toDoubleArray(), tol, tol);
        }
    }

    @Test
    void backwardMatchesReference() {
        try (MemoryScope s = MemoryScope.open()) {
            for (DType dt : new DType[]{DType.F32, DType.F64}) {
                double tol = dt == DType.F32 ? 2e-5 : 1e-11;
                for (int c : new int[]{1, 3, 8, 29, 64}) {
                    Tensor x = Creation.randn(10 + c, dt, 5, 3, c);
                    Tensor gy = Creation.randn(20 + c, dt, 5, 3, c);
                    Tensor w = Creation.randn(30 + c, dt, c);
                    checkBackward(gy, x, w, 1e-5, tol);
                    checkBackward(gy, x, null, 1e-5, tol);
                }
                // many rows: several chunks, float partials flushed more than once
                Tensor x = Creation.randn(40, dt, 700, 21);
                Tensor gBase = Creation.randn(41, dt, 21, 700);
                Tensor gy = gBase.asStrided(new int[]{700, 21}, new int[]{1, 700}, 0);
                checkBackward(gy, x, Creation.randn(42, dt, 21), 1e-5, dt == DType.F32 ? 2e-4 : 1e-10);
            }
        }
    }

    @Test
    void rejectsBadArguments() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor x = Creation.randn(1, DType.F32, 2, 3);
            assertThrows(ShapeException.class, () -> BE.layerNorm(x, Creation.randn(2, DType.F32, 4), null, 1e-5));
            assertThrows(dev.clipvil.tensor.DTypeException.class, () -> BE.layerNorm(x, Creation.randn(2, DType.F64, 3), null, 1e-5));
            assertThrows(ShapeException.class, () -> BE.layerNorm(Tensor.scalar(DType.F32, 1), null, null, 1e-5));
            NormResult r = BE.layerNorm(x, null, null, 1e-5);
            assertThrows(ShapeException.class, () -> BE.layerNormBackward(Creation.randn(3, DType.F32, 3, 2), x, null, r.mean(), r.rstd()));
        }
    }
}
