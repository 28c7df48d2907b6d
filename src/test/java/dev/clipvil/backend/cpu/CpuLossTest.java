package dev.clipvil.backend.cpu;

import dev.clipvil.backend.Backend;
import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Cross-entropy and BCE-with-logits kernels against textbook formulas evaluated naively. */
class CpuLossTest {
    private final Backend be = CpuBackend.get();

    /** softmax of row r of a [N, C] logical array. */
    private static double[] softmax(double[] z, int r, int c) {
        double sum = 0;
        double[] p = new double[c];
        for (int k = 0; k < c; k++) sum += Math.exp(z[r * c + k]);
        for (int k = 0; k < c; k++) p[k] = Math.exp(z[r * c + k]) / sum;
        return p;
    }

    @Test
    void hardTargetsWithAnIgnoredRowOnStridedLogits() {
        int n = 5, c = 7;
        for (DType dt : new DType[]{DType.F32, DType.F64}) {
            Tensor base = Creation.randn(1, dt, c, n);
            Tensor logits = base.asStrided(new int[]{n, c}, new int[]{1, n}, 0); // transposed view
            long[] t = {3, -100, 0, 6, 3};
            Tensor target = Tensor.ofLongs(t, n);
            double[] z = logits.toDoubleArray();
            double[] g = {0.5, 2, -1, 1.5, 3};
            double[] wantLoss = new double[n], wantGrad = new double[n * c];
            for (int r = 0; r < n; r++) {
                if (t[r] == -100) continue;
                double[] p = softmax(z, r, c);
                wantLoss[r] = -Math.log(p[(int) t[r]]);
                for (int k = 0; k < c; k++) wantGrad[r * c + k] = (p[k] - (k == t[r] ? 1 : 0)) * g[r];
            }
            double tol = dt == DType.F32 ? 1e-5 : 1e-12;
            Tensor loss = be.crossEntropy(logits, target, -100);
            assertEquals(dt, loss.dtype());
            assertArrayEquals(new int[]{n}, loss.shape());
            assertArrayEquals(wantLoss, loss.toDoubleArray(), tol);
            Tensor gl = Tensor.of(g, n);
            Tensor glCast = be.cast(gl, dt);
            Tensor grad = be.crossEntropyBackward(logits, Tensor.ofInts(new int[]{3, -100, 0, 6, 3}, n), -100, glCast);
            assertArrayEquals(new int[]{n, c}, grad.shape());
            assertArrayEquals(wantGrad, grad.toDoubleArray(), tol);
        }
    }

    @Test
    void largeLogitsStayFiniteAndRowsSplitAcrossThreads() {
        int n = 300, c = 50;
        Tensor logits = Creation.randn(2, DType.F32, n, c);
        float[] a = logits.hostStorage().f32();
        for (int i = 0; i < a.length; i++) a[i] *= 1000; // exp would overflow without max subtraction
        int[] t = new int[n];
        for (int r = 0; r < n; r++) t[r] = (r * 7) % c;
        double[] loss = be.crossEntropy(logits, Tensor.ofInts(t, n), -100).toDoubleArray();
        for (int r = 0; r < n; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < c; k++) max = Math.max(max, a[r * c + k]);
            double s = 0;
            for (int k = 0; k < c; k++) s += Math.exp(a[r * c + k] - max);
            assertEquals(max + Math.log(s) - a[r * c + t[r]], loss[r], 1e-2 + 1e-5 * Math.abs(loss[r]));
        }
    }

    @Test
    void softTargets() {
        int n = 3, c = 4;
        Tensor logits = Creation.randn(3, DType.F64, n, c);
        double[] t = {0.1, 0.2, 0.3, 0.4, 0, 0, 1, 0, 0.5, 0.5, 0.5, 0.5}; // last row sums to 2
        Tensor target = Tensor.of(t, n, c);
        double[] z = logits.toDoubleArray();
        double[] g = {1, -2, 0.5};
        double[] wantLoss = new double[n], wantGrad = new double[n * c];
        for (int r = 0; r < n; r++) {
            double[] p = softmax(z, r, c);
            double sum = 0;
            for (int k = 0; k < c; k++) { wantLoss[r] -= t[r * c + k] * Math.log(p[k]); sum += t[r * c + k]; }
            for (int k = 0; k < c; k++) wantGrad[r * c + k] = (p[k] * sum - t[r * c + k]) * g[r];
        }
        assertArrayEquals(wantLoss, be.crossEntropy(logits, target, -100).toDoubleArray(), 1e-12);
        Tensor grad = be.crossEntropyBackward(logits, target, -100, Tensor.of(g, n));
        assertArrayEquals(wantGrad, grad.toDoubleArray(), 1e-12);
        // F32 targets with F64 logits are converted.
        assertArrayEquals(wantLoss, be.crossEntropy(logits, be.cast(target, DType.F32), -100).toDoubleArray(), 1e-6);
    }

    @Test
    void bceMatchesTheNaiveFormulaAndIsStableForLargeLogits() {
        double[] xv = {-3, -0.5, 0, 0.7, 2.5, 4};
        double[] tv = {0, 0.3, 1, 1, 0.5, 0};
        double[] gv = {1, 2, -1, 0.5, 3, -2};
        for (DType dt : new DType[]{DType.F32, DType.F64}) {
            Tensor x = be.cast(Tensor.of(xv, 2, 3), dt), t = be.cast(Tensor.of(tv, 2, 3), dt), g = be.cast(Tensor.of(gv, 2, 3), dt);
            double[] loss = be.bceWithLogits(x, t).toDoubleArray(), grad = be.bceWithLogitsBackward(x, t, g).toDoubleArray();
            double tol = dt == DType.F32 ? 1e-6 : 1e-12;
            for (int i = 0; i < xv.length; i++) {
                double s = 1 / (1 + Math.exp(-xv[i]));
                assertEquals(-(tv[i] * Math.log(s) + (1 - tv[i]) * Math.log(1 - s)), loss[i], tol);
                assertEquals((s - tv[i]) * gv[i], grad[i], tol);
            }
        }
        Tensor big = Tensor.of(new float[]{100, -100, 100, -100}, 4);
        Tensor bt = Tensor.of(new float[]{0, 1, 1, 0}, 4);
        assertArrayEquals(new double[]{100, 100, 0, 0}, be.bceWithLogits(big, bt).toDoubleArray(), 1e-6);
        assertArrayEquals(new double[]{1, -1, 0, 0}, be.bceWithLogitsBackward(big, bt, Tensor.of(new float[]{1, 1, 1, 1}, 4)).toDoubleArray(), 1e-6);
        // A transposed view of x and a broadcast (stride 0) gradient.
        Tensor xb = Creation.randn(4, DType.F64, 3, 2);
        Tensor xt = xb.asStrided(new int[]{2, 3}, new int[]{1, 2}, 0);
        Tensor tt = Creation.rand(5, DType.F64, 2, 3);
        Tensor one = Tensor.scalar(DType.F64, 2.0);
        Tensor gb = one.asStrided(new int[]{2, 3}, new int[]{0, 0}, 0);
        double[] gx = be.bceWithLogitsBackward(xt, tt, gb).toDoubleArray();
        double[] xs = xt.toDoubleArray(), ts = tt.toDoubleArray();
        for (int i = 0; i < 6; i++) assertEquals(2 * (1 / (1 + Math.exp(-xs[i])) - ts[i]), gx[i], 1e-12);
    }

    @Test
    void errorsNameTheOpAndTheOffendingValue() {
        Tensor logits = Creation.randn(1, DType.F32, 3, 5);
        ShapeException e = assertThrows(ShapeException.class, () -> be.crossEntropy(logits, Tensor.ofInts(new int[]{0, 5, 1}, 3), -100));
        assertTrue(e.getMessage().contains("cross_entropy") && e.getMessage().contains("target 5") && e.getMessage().contains("5 classes"), e.getMessage());
        e = assertThrows(ShapeException.class, () -> be.crossEntropy(logits, Tensor.ofInts(new int[]{0, -1, 1}, 3), -100));
        assertTrue(e.getMessage().contains("target -1"), e.getMessage());
        assertThrows(ShapeException.class, () -> be.crossEntropy(logits, Tensor.ofInts(new int[]{0, 1}, 2), -100));
        assertThrows(ShapeException.class, () -> be.crossEntropy(logits, Creation.rand(1, DType.F32, 3, 4), -100));
        assertThrows(DTypeException.class, () -> be.crossEntropy(logits, Tensor.ofBools(new boolean[3], 3), -100));
        assertThrows(ShapeException.class, () -> be.crossEntropy(Creation.randn(1, DType.F32, 2, 3, 4), Tensor.ofInts(new int[]{0, 1}, 2), -100));
        assertThrows(DTypeException.class, () -> be.crossEntropy(Tensor.ofInts(new int[]{1, 2}, 1, 2), Tensor.ofInts(new int[]{0}, 1), -100));
        e = assertThrows(ShapeException.class, () -> be.crossEntropyBackward(logits, Tensor.ofInts(new int[]{0, 1, 2}, 3), -100, Tensor.of(new float[2], 2)));
        assertTrue(e.getMessage().contains("[2]"), e.getMessage());
        e = assertThrows(ShapeException.class, () -> be.bceWithLogits(logits, Creation.rand(1, DType.F32, 5, 3)));
        assertTrue(e.getMessage().contains("[5, 3]") && e.getMessage().contains("[3, 5]"), e.getMessage());
        assertThrows(DTypeException.class, () -> be.bceWithLogits(logits, Tensor.ofInts(new int[15], 3, 5)));
    }
}
