package dev.clipvil.ops;

import dev.clipvil.autograd.GradMode;
import dev.clipvil.backend.cpu.CpuBackend;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GradCheck;
import org.junit.jupiter.api.Test;

import static dev.clipvil.testing.GradCheck.input;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NormalizationGradTest {
    @Test
    void layerNormWithAndWithoutAffine() {
        Tensor x = input(1, 2, 3, 5), w = input(2, 5), b = input(3, 5);
        GradCheck.check("layer_norm(w, b)", t -> Normalization.layerNorm(t[0], t[1], t[2], 1e-5), x, w, b);
        GradCheck.check("layer_norm()", t -> Normalization.layerNorm(t[0], null, null, 1e-5), x);
        GradCheck.check("layer_norm(w)", t -> Normalization.layerNorm(t[0], t[1], null, 1e-5), x, w);
        GradCheck.check("layer_norm(b)", t -> Normalization.layerNorm(t[0], null, t[1], 1e-5), x, b);
        Tensor v = input(4, 6);
        GradCheck.check("layer_norm(rank 1, b)", t -> Normalization.layerNorm(t[0], null, t[1], 1e-5), v, input(5, 6));
    }

    @Test
    void layerNormNonContiguous() {
        Tensor x = input(6, 4, 3, 2), w = input(7, 4);
        GradCheck.check("layer_norm(permuted)", t -> Normalization.layerNorm(Views.permute(t[0], 2, 1, 0), t[1], null, 1e-5), x, w);
        Tensor wide = input(8, 4, 3);
        GradCheck.check("layer_norm(strided weight)", t -> Normalization.layerNorm(t[0], Views.select(t[1], 1, 2), t[2], 1e-3),
                input(9, 2, 4), wide, input(10, 4));
    }

    /** Both results of the fused residual step feed the loss (scaled differently, so a swapped gradient shows). */
    private static Tensor both(Normalization.AddNorm a) { return Elementwise.add(Elementwise.mul(a.sum(), 0.7), a.normed()); }

    @Test
    void addLayerNormGradients() {
        Tensor x = input(31, 3, 4, 6), r = input(32, 3, 4, 6), w = input(33, 6), b = input(34, 6);
        GradCheck.check("add_layer_norm(w, b)", t -> both(Normalization.addLayerNorm(t[0], t[1], t[2], t[3], 1e-5)), x, r, w, b);
        GradCheck.check("add_layer_norm() normed only", t -> Normalization.addLayerNorm(t[0], t[1], null, null, 1e-5).normed(), x, r);
        GradCheck.check("add_layer_norm(transposed x)", t -> both(Normalization.addLayerNorm(Views.transpose(t[0], 0, 1), t[1], t[2], null, 1e-5)),
                input(35, 4, 3, 6), r, w);
        // a broadcast residual takes the unfused pair, with the same gradients
        GradCheck.check("add_layer_norm(broadcast residual)", t -> both(Normalization.addLayerNorm(t[0], t[1], t[2], t[3], 1e-5)), x, input(36, 6), w, b);
    }

    @Test
    void addLayerNormEqualsAddThenLayerNorm() {
        try (MemoryScope s = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
            for (DType dt : new DType[]{DType.F32, DType.F64}) {
                Tensor x = Creation.randn(41, dt, 5, 7, 33), r = Creation.randn(42, dt, 5, 7, 33);
                Tensor w = Creation.randn(43, dt, 33), b = Creation.randn(44, dt, 33);
                Normalization.AddNorm a = Normalization.addLayerNorm(x, r, w, b, 1e-5);
                Tensor sum = Elementwise.add(x, r);
                assertArrayEquals(sum.toDoubleArray(), a.sum().toDoubleArray(), 0.0, dt + " sum");
                assertArrayEquals(Normalization.layerNorm(sum, w, b, 1e-5).toDoubleArray(), a.normed().toDoubleArray(), 0.0, dt + " normed");
            }
            Tensor x = Creation.randn(45, DType.F32, 2, 3), other = Creation.randn(46, DType.F64, 2, 3);
            ShapeException e = assertThrows(ShapeException.class,
                    () -> CpuBackend.get().addLayerNorm(x, other, null, null, 1e-5));
            assertTrue(e.getMessage().contains("add_layer_norm") && e.getMessage().contains("F64"), e.getMessage());
        }
    }

    @Test
    void batchNormTraining() {
        Tensor x4 = input(11, 3, 2, 2, 3), w = input(12, 2), b = input(13, 2);
        GradCheck.check("batch_norm(train, 4-D)", t -> Normalization.batchNorm(t[0], t[1], t[2], null, null, true, 0.1, 1e-5), x4, w, b);
        Tensor x2 = input(14, 5, 3), w3 = input(15, 3), b3 = input(16, 3);
        Tensor rm = Creation.zeros(DType.F64, 3), rv = Creation.ones(DType.F64, 3);
        GradCheck.check("batch_norm(train, 2-D, running stats)", t -> Normalization.batchNorm(t[0], t[1], t[2], rm, rv, true, 0.1, 1e-5), x2, w3, b3);
        GradCheck.check("batch_norm(train, no affine)", t -> Normalization.batchNorm(t[0], null, null, null, null, true, 0.1, 1e-5), x2);
        GradCheck.check("batch_norm(train, bias only)", t -> Normalization.batchNorm(t[0], null, t[1], null, null, true, 0.1, 1e-5), x4, b);
        GradCheck.check("batch_norm(train, transposed)", t -> Normalization.batchNorm(Views.transpose(t[0], 0, 1), t[1], null, null, null, true, 0.1, 1e-5),
                input(17, 3, 4), input(18, 3));
    }

    @Test
    void batchNormEval() {
        Tensor x4 = input(21, 2, 3, 2, 2), w = input(22, 3), b = input(23, 3);
        Tensor rm = Creation.randn(24, DType.F64, 3), rv = GradCheck.input(25, 0.5, 2.0, 3).requiresGrad(false);
        GradCheck.check("batch_norm(eval)", t -> Normalization.batchNorm(t[0], t[1], t[2], rm, rv, false, 0.1, 1e-5), x4, w, b);
        GradCheck.check("batch_norm(eval, bias only)", t -> Normalization.batchNorm(t[0], null, t[1], rm, rv, false, 0.1, 1e-5), x4, b);
        assertThrows(IllegalArgumentException.class, () -> Normalization.batchNorm(x4, w, b, null, null, false, 0.1, 1e-5));
    }

    @Test
    void batchNormUpdatesRunningStatsOnlyInTraining() {
        try (MemoryScope s = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
            Tensor x = Tensor.of(new double[]{1, 4, 3, 0, 5, 2}, 3, 2); // channel 0: 1, 3, 5; channel 1: 4, 0, 2
            Tensor rm = Tensor.of(new double[]{1, -1}, 2), rv = Tensor.of(new double[]{2, 3}, 2);
            Normalization.batchNorm(x, null, null, rm, rv, true, 0.25, 1e-5);
            // means 3 and 2; unbiased variances 4 and 4
            assertArrayEquals(new double[]{0.75 * 1 + 0.25 * 3, 0.75 * -1 + 0.25 * 2}, rm.toDoubleArray(), 1e-12);
            assertArrayEquals(new double[]{0.75 * 2 + 0.25 * 4, 0.75 * 3 + 0.25 * 4}, rv.toDoubleArray(), 1e-12);
            double[] before = rm.toDoubleArray();
            Tensor y = Normalization.batchNorm(x, null, null, rm, rv, false, 0.25, 0.0);
            assertArrayEquals(before, rm.toDoubleArray(), 0.0);
            assertEquals((1 - before[0]) / Math.sqrt(2.5), y.get(0, 0), 1e-12);
        }
    }
}
