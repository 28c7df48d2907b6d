package dev.clipvil.backend.cuda;

import dev.clipvil.backend.cpu.CpuBackend;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Helpers of the fused-kernel GPU tests: the device context, random host inputs (BF16-rounded when
 * the test runs BF16), uploads, and a norm-relative comparison against a CPU F64 reference.
 */
final class KernelTestSupport {
    private KernelTestSupport() {}

    /** The first GPU's context (the tests run under {@code GpuAvailable}, which skips them without one). */
    static CudaContext gpu() { return CudaContext.get(0); }

    /** A host F32 tensor of uniform values in [lo, hi), rounded to BF16 first when {@code dtype} is BF16 (still stored F32). */
    static Tensor random(DType dtype, long seed, double lo, double hi, int... shape) {
        Tensor t = Tensor.empty(DType.F32, shape);
        CpuBackend.get().fillUniform(t, lo, hi, seed);
        if (dtype == DType.BF16) {
            try (Tensor b = CpuBackend.get().cast(t, DType.BF16)) {
                t.close();
                return CpuBackend.get().cast(b, DType.F32);
            }
        }
        return t;
    }

    /** A device copy of host {@code x} in {@code dtype}. */
    static Tensor up(CudaContext ctx, Tensor x, DType dtype) {
        if (x.dtype() == dtype) return CudaTransfer.toDevice(x, ctx.device());
        try (Tensor c = CpuBackend.get().cast(x, dtype)) {
            return CudaTransfer.toDevice(c, ctx.device());
        }
    }

    /** A host F64 copy (the reference's input). */
    static Tensor f64(Tensor hostF32) { return CpuBackend.get().cast(hostF32, DType.F64); }

    /** Asserts max |got - want| <= tol * max(max |want|, 1e-3) and that nothing is NaN. */
    static void assertClose(String what, Tensor got, Tensor want, double tol) {
        double[] g = got.toDoubleArray(), w = want.toDoubleArray();
        assertTrue(g.length == w.length, what + ": " + g.length + " vs " + w.length + " elements");
        double maxRef = 1e-3, maxErr = 0;
        int worst = -1;
        for (int i = 0; i < g.length; i++) {
            assertFalse(Double.isNaN(g[i]), () -> what + ": NaN in the GPU result");
            if (Double.isInfinite(w[i]) || Double.isInfinite(g[i])) {
                assertTrue(g[i] == w[i], what + ": infinity mismatch at " + i + ": " + g[i] + " vs " + w[i]);
                continue;
            }
            maxRef = Math.max(maxRef, Math.abs(w[i]));
        }
        for (int i = 0; i < g.length; i++) {
            if (Double.isInfinite(w[i])) continue;
            double e = Math.abs(g[i] - w[i]);
            if (e > maxErr) {
                maxErr = e;
                worst = i;
            }
        }
        double rel = maxErr / maxRef;
        int at = worst;
        assertTrue(rel <= tol, () -> what + " " + Shapes.str(want.shape()) + ": relative error " + rel + " > " + tol
                + " (worst at " + at + ": " + g[at] + " vs " + w[at] + ")");
    }
}
