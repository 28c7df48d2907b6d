package dev.clipvil.backend.cpu;

import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The AdamW and SGD kernels against element-by-element reference loops in doubles. */
class CpuOptimTest {
    private static double[] randArray(long seed, int n) {
        try (Tensor t = Creation.randn(seed, DType.F64, n)) {
            return t.toDoubleArray();
        }
    }

    /** Reference AdamW, updating the arrays in place. */
    static void adamwRef(double[] p, double[] g, double[] m, double[] v, double lr, double b1, double b2, double eps, double wd, long t) {
        for (int i = 0; i < p.length; i++) {
            p[i] *= 1 - lr * wd;
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            double bc1 = 1 - Math.pow(b1, t), bc2 = 1 - Math.pow(b2, t);
            p[i] -= lr / bc1 * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + eps);
        }
    }

    /** Reference SGD, updating the arrays in place. */
    static void sgdRef(double[] p, double[] g, double[] buf, double lr, double mom, double damp, double wd, boolean nesterov, boolean first) {
        for (int i = 0; i < p.length; i++) {
            double d = g[i] + wd * p[i];
            if (mom != 0) {
                buf[i] = first ? d : mom * buf[i] + (1 - damp) * d;
                d = nesterov ? d + mom * buf[i] : buf[i];
            }
            p[i] -= lr * d;
        }
    }

    private static void assertClose(double[] expected, Tensor actual, double tol, String what) {
        double[] a = actual.toDoubleArray();
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], a[i], tol * Math.max(1, Math.abs(expected[i])), what + " at " + i);
        }
    }

    @Test
    void adamwMatchesReferenceF64AndF32() {
        for (DType dt : new DType[]{DType.F64, DType.F32}) {
            int n = 37;
            double[] p = randArray(1, n), m = new double[n], v = new double[n];
            Tensor tp = Tensor.empty(dt, n), tm = Creation.zeros(dt, n), tv = Creation.zeros(dt, n);
            CpuCopy.copy(Tensor.of(p, n), tp);
            double tol = dt == DType.F64 ? 1e-13 : 1e-6;
            for (int t = 1; t <= 5; t++) {
                double[] g = randArray(100 + t, n);
                Tensor tg = Tensor.empty(dt, n);
                CpuCopy.copy(Tensor.of(g, n), tg);
                CpuOptim.adamw(tp, tg, tm, tv, 0.01, 0.9, 0.999, 1e-8, 0.1, t);
                adamwRef(p, g, m, v, 0.01, 0.9, 0.999, 1e-8, 0.1, t);
                assertClose(p, tp, tol, dt + " param step " + t);
                assertClose(m, tm, tol, dt + " exp_avg step " + t);
                assertClose(v, tv, tol, dt + " exp_avg_sq step " + t);
            }
        }
    }

    @Test
    void adamwLargeTensorRunsInParallelChunksAndMatches() {
        int n = 300_001;
        double[] p = randArray(2, n), g = randArray(3, n), m = new double[n], v = new double[n];
        Tensor tp = Tensor.of(p, n), tg = Tensor.of(g, n), tm = Creation.zeros(DType.F64, n), tv = Creation.zeros(DType.F64, n);
        CpuOptim.adamw(tp, tg, tm, tv, 1e-3, 0.9, 0.98, 1e-6, 0.05, 1);
        adamwRef(p, g, m, v, 1e-3, 0.9, 0.98, 1e-6, 0.05, 1);
        assertClose(p, tp, 1e-14, "param");
    }

    @Test
    void stridedOperandsAreUpdatedInPlace() {
        // a transposed parameter view and an offset gradient view
        double[] base = randArray(4, 12);
        Tensor storage = Tensor.of(base, 3, 4);
        Tensor pT = storage.asStrided(new int[]{4, 3}, new int[]{1, 4}, 0);
        double[] gAll = randArray(5, 20);
        Tensor gStore = Tensor.of(gAll, 20);
        Tensor g = gStore.asStrided(new int[]{4, 3}, new int[]{3, 1}, 8);
        Tensor m = Creation.zeros(DType.F64, 4, 3), v = Creation.zeros(DType.F64, 4, 3);
        double[] p = pT.toDoubleArray(), gd = g.toDoubleArray(), md = new double[12], vd = new double[12];
        CpuOptim.adamw(pT, g, m, v, 0.1, 0.9, 0.999, 1e-8, 0.01, 1);
        adamwRef(p, gd, md, vd, 0.1, 0.9, 0.999, 1e-8, 0.01, 1);
        assertClose(p, pT, 1e-14, "transposed param");
        assertClose(vd, v, 1e-14, "exp_avg_sq");
    }

    @Test
    void sgdVariantsMatchReference() {
        Object[][] cases = {{0.0, 0.0, 0.0, false}, {0.9, 0.0, 0.01, false}, {0.9, 0.0, 0.01, true}, {0.8, 0.3, 0.1, false}};
        for (DType dt : new DType[]{DType.F64, DType.F32}) {
            for (Object[] c : cases) {
                double mom = (Double) c[0], damp = (Double) c[1], wd = (Double) c[2];
                boolean nest = (Boolean) c[3];
                int n = 23;
                double[] p = randArray(6, n), buf = new double[n];
                Tensor tp = Tensor.empty(dt, n);
                CpuCopy.copy(Tensor.of(p, n), tp);
                Tensor tb = mom == 0 ? null : Creation.zeros(dt, n);
                for (int t = 1; t <= 4; t++) {
                    double[] g = randArray(200 + t, n);
                    Tensor tg = Tensor.empty(dt, n);
                    CpuCopy.copy(Tensor.of(g, n), tg);
                    CpuOptim.sgd(tp, tg, tb, 0.05, mom, damp, wd, nest, t == 1);
                    sgdRef(p, g, buf, 0.05, mom, damp, wd, nest, t == 1);
                    assertClose(p, tp, dt == DType.F64 ? 1e-14 : 1e-6, dt + " sgd " + java.util.Arrays.toString(c) + " step " + t);
                }
            }
        }
    }

    @Test
    void rejectsBadOperands() {
        Tensor p = Creation.zeros(DType.F32, 3), g = Creation.zeros(DType.F32, 4), g64 = Creation.zeros(DType.F64, 3);
        Tensor m = Creation.zeros(DType.F32, 3), v = Creation.zeros(DType.F32, 3);
        assertThrows(ShapeException.class, () -> CpuOptim.adamw(p, g, m, v, 0.1, 0.9, 0.999, 1e-8, 0, 1));
        assertThrows(DTypeException.class, () -> CpuOptim.adamw(p, g64, m, v, 0.1, 0.9, 0.999, 1e-8, 0, 1));
        Tensor bf = Creation.zeros(DType.BF16, 3);
        assertThrows(DTypeException.class, () -> CpuOptim.sgd(bf, bf, null, 0.1, 0, 0, 0, false, true));
        assertThrows(IllegalArgumentException.class, () -> CpuOptim.sgd(p, m, null, 0.1, 0.9, 0, 0, false, true));
    }
}
