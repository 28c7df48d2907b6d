package dev.clipvil.backend.cpu;

import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** CPU softmax / log-softmax and their backward against naive double loops. */
class CpuSoftmaxTest {
    private static final CpuBackend BE = CpuBackend.get();

    /** Softmax of row-major {@code x} of {@code shape} along {@code dim}, in double. */
    static double[] reference(double[] x, int[] shape, int dim, boolean log) {
        int n = shape[dim], inner = 1, outer = 1;
        for (int i = dim + 1; i < shape.length; i++) inner *= shape[i];
        for (int i = 0; i < dim; i++) outer *= shape[i];
        double[] y = new double[x.length];
        for (int o = 0; o < outer; o++) {
            for (int in = 0; in < inner; in++) {
                double m = Double.NEGATIVE_INFINITY, s = 0;
                for (int j = 0; j < n; j++) m = Math.max(m, x[(o * n + j) * inner + in]);
                for (int j = 0; j < n; j++) s += Math.exp(x[(o * n + j) * inner + in] - m);
                for (int j = 0; j < n; j++) {
                    int k = (o * n + j) * inner + in;
                    y[k] = log ? x[k] - m - Math.log(s) : Math.exp(x[k] - m) / s;
                }
            }
        }
        return y;
    }

    /** Gradient of softmax/log-softmax from y and gy, in double. */
    static double[] referenceBackward(double[] y, double[] g, int[] shape, int dim, boolean log) {
        int n = shape[dim], inner = 1, outer = 1;
        for (int i = dim + 1; i < shape.length; i++) inner *= shape[i];
        for (int i = 0; i < dim; i++) outer *= shape[i];
        double[] gx = new double[y.length];
        for (int o = 0; o < outer; o++) {
            for (int in = 0; in < inner; in++) {
                double s = 0;
                for (int j = 0; j < n; j++) {
                    int k = (o * n + j) * inner + in;
                    s += log ? g[k] : g[k] * y[k];
                }
                for (int j = 0; j < n; j++) {
                    int k = (o * n + j) * inner + in;
                    gx[k] = log ? g[k] - Math.exp(y[k]) * s : y[k] * (g[k] - s);
                }
            }
        }
        return gx;
    }

    static void assertClose(String what, double[] want, double[] got, double atol, double rtol) {
        assertEquals(want.length, got.length, what + ": length");
        for (int i = 0; i < want.length; i++) {
            if (!(Math.abs(want[i] - got[i]) <= atol + rtol * Math.abs(want[i]))) {
                fail(what + ": element " + i + " expected " + want[i] + " got " + got[i]);
            }
        }
    }

    private static void checkForward(Tensor x, int dim, boolean log, double tol) {
        int[] shape = x.shape();
        int d = dim < 0 ? dim + shape.length : dim;
        double[] want = reference(x.toDoubleArray(), shape, d, log);
        try (Tensor y = BE.softmax(x, dim, log)) {
            assertTrue(y.isContiguous());
            assertClose((log ? "log_softmax" : "softmax") + " dim " + dim + " of " + x.describe(), want, y.toDoubleArray(), tol, tol * 10);
        }
    }

    @Test
    void forwardAlongEveryDimF32AndF64() {
        try (MemoryScope s = MemoryScope.open()) {
            for (DType dt : new DType[]{DType.F32, DType.F64}) {
                Tensor x = BE.binaryScalar(dev.clipvil.backend.BinaryOp.MUL, Creation.randn(1, dt, 3, 5, 19), 3.0);
                double tol = dt == DType.F32 ? 2e-6 : 1e-12;
                for (int dim : new int[]{0, 1, 2, -1}) {
                    checkForward(x, dim, false, tol);
                    checkForward(x, dim, true, tol);
                }
            }
        }
    }

    @Test
    void longAndOddRowsAndLargeValues() {
        try (MemoryScope s = MemoryScope.open()) {
            for (int n : new int[]{1, 7, 8, 33, 1000}) {
                Tensor x = BE.binaryScalar(dev.clipvil.backend.BinaryOp.MUL, Creation.randn(n, DType.F32, 9, n), 40.0);
                checkForward(x, -1, false, 2e-6);
                checkForward(x, -1, true, 2e-5);
            }
        }
    }

    @Test
    void nonContiguousInputs() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor base = Creation.randn(2, DType.F32, 6, 4, 11);
            Tensor t = base.asStrided(new int[]{11, 4, 6}, new int[]{1, 11, 44}, 0); // fully reversed dims
            for (int dim : new int[]{0, 1, 2}) {
                checkForward(t, dim, false, 2e-6);
                checkForward(t, dim, true, 2e-6);
            }
            // rows of stride 1 that are not packed: a narrowed last dim
            Tensor narrow = base.asStrided(new int[]{6, 4, 9}, new int[]{44, 11, 1}, 1);
            checkForward(narrow, -1, false, 2e-6);
            checkForward(narrow, -1, true, 2e-6);
            Tensor d64 = Creation.randn(3, DType.F64, 5, 7);
            Tensor tr = d64.asStrided(new int[]{7, 5}, new int[]{1, 7}, 0);
            checkForward(tr, 1, false, 1e-12);
            checkForward(tr, 0, true, 1e-12);
        }
    }

    @Test
    void infinitiesAreHandledLikeTorch() {
        try (MemoryScope s = MemoryScope.open()) {
            float inf = Float.NEGATIVE_INFINITY;
            Tensor x = Tensor.of(new float[]{0, inf, 1, 2, 3, inf, inf, inf, 5, inf, 1000, -1000, 0, 0, 0, 0, 0}, 1, 17);
            double[] y = BE.softmax(x, -1, false).toDoubleArray();
            double[] want = reference(x.toDoubleArray(), x.shape(), 1, false);
            assertClose("softmax with -inf", want, y, 1e-7, 1e-6);
            assertEquals(0.0, y[1], 0.0);
            assertEquals(1.0, y[10], 1e-6);
            double[] ly = BE.softmax(x, -1, true).toDoubleArray();
            assertEquals(Double.NEGATIVE_INFINITY, ly[1]);
            assertEquals(0.0, ly[10], 1e-6);
            Tensor allMasked = Tensor.of(new float[]{inf, inf, inf}, 1, 3);
            assertTrue(Double.isNaN(BE.softmax(allMasked, -1, false).toDoubleArray()[0]), "an all -inf row gives NaN, as in PyTorch");
        }
    }

    @Test
    void backwardMatchesReference() {
        try (MemoryScope s = MemoryScope.open()) {
            for (DType dt : new DType[]{DType.F32, DType.F64}) {
                double tol = dt == DType.F32 ? 2e-6 : 1e-12;
                Tensor x = Creation.randn(4, dt, 3, 4, 37);
                Tensor gBase = Creation.randn(5, dt, 37, 4, 3);
                Tensor gy = gBase.asStrided(new int[]{3, 4, 37}, new int[]{1, 3, 12}, 0); // non-contiguous gradient
                for (boolean log : new boolean[]{false, true}) {
                    for (int dim : new int[]{0, 1, 2}) {
                        Tensor y = BE.softmax(x, dim, log);
                        double[] want = referenceBackward(y.toDoubleArray(), gy.toDoubleArray(), x.shape(), dim, log);
                        assertClose("backward log=" + log + " dim " + dim + " " + dt, want, BE.softmaxBackward(y, gy, dim, log).toDoubleArray(), tol, tol * 10);
                        Tensor gc = BE.contiguous(gy);
                        assertClose("backward (contiguous) log=" + log + " dim " + dim + " " + dt, want, BE.softmaxBackward(y, gc, dim, log).toDoubleArray(), tol, tol * 10);
                    }
                }
            }
        }
    }

    @Test
    void scalarInput() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor x = Tensor.scalar(DType.F32, 3.5);
            assertEquals(1.0, BE.softmax(x, 0, false).item(), 0.0);
            assertEquals(0.0, BE.softmax(x, -1, true).item(), 0.0);
        }
    }

    @Test
    void rejectsBadArguments() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor x = Creation.randn(1, DType.F32, 2, 3);
            assertThrows(ShapeException.class, () -> BE.softmax(x, 2, false));
            assertThrows(dev.clipvil.tensor.DTypeException.class, () -> BE.softmax(Tensor.ofInts(new int[]{1, 2}, 2), 0, false));
            Tensor y = BE.softmax(x, 1, false);
            assertThrows(ShapeException.class, () -> BE.softmaxBackward(y, Creation.randn(2, DType.F32, 3, 2), 1, false));
        }
    }

    @Test
    void vectorExpIsAccurate() {
        float[] xs = new float[4096];
        for (int i = 0; i < xs.length; i++) xs[i] = -87f + 87f * i / (xs.length - 1) + (i % 3) * 1e-3f;
        float[] got = new float[xs.length];
        int l = VecExp.F.length();
        for (int i = 0; i + l <= xs.length; i += l) {
            VecExp.exp(jdk.incubator.vector.FloatVector.fromArray(VecExp.F, xs, i)).intoArray(got, i);
        }
        for (int i = 0; i + l <= xs.length; i++) {
            double want = Math.exp(xs[i]);
            assertEquals(want, got[i], want * 5e-7, "exp(" + xs[i] + ")");
        }
        float[] special = new float[l];
        java.util.Arrays.fill(special, Float.NEGATIVE_INFINITY);
        special[0] = Float.NaN;
        if (l > 1) special[1] = -100f;
        if (l > 2) special[2] = 0f;
        VecExp.exp(jdk.incubator.vector.FloatVector.fromArray(VecExp.F, special, 0)).intoArray(got, 0);
        assertTrue(Float.isNaN(got[0]));
        if (l > 1) assertEquals(0f, got[1]);
        if (l > 2) assertEquals(1f, got[2]);
        if (l > 3) assertEquals(0f, got[3]);
    }
}
