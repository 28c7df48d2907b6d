package dev.clipvil.optim;

import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class GradClipTest {
    private static Tensor paramWithGrad(double[] g) {
        Tensor p = Tensor.of(new double[g.length], g.length).requiresGrad(true);
        p.setGrad(Tensor.of(g, g.length));
        return p;
    }

    @Test
    void scalesWhenOverTheLimit() {
        Tensor a = paramWithGrad(new double[]{3, 0}), b = paramWithGrad(new double[]{0, 4, 0});
        Tensor none = Tensor.of(new double[2], 2).requiresGrad(true);
        double norm = GradClip.clipGradNorm(List.of(a, none, b), 1.0);
        assertEquals(5.0, norm, 1e-12);
        double coef = 1.0 / (5.0 + 1e-6);
        assertArrayEquals(new double[]{3 * coef, 0}, a.grad().toDoubleArray(), 1e-15);
        assertArrayEquals(new double[]{0, 4 * coef, 0}, b.grad().toDoubleArray(), 1e-15);
        assertEquals(1.0, GradClip.gradNorm(List.of(a, b)), 1e-6);
    }

    @Test
    void leavesGradientsUnderTheLimit() {
        Tensor a = paramWithGrad(new double[]{0.3, -0.4});
        double norm = GradClip.clipGradNorm(List.of(a), 1.0);
        assertEquals(0.5, norm, 1e-15);
        assertArrayEquals(new double[]{0.3, -0.4}, a.grad().toDoubleArray(), 0);
        float[] f = {1, 2, 2};
        Tensor p = Tensor.of(new float[3], 3).requiresGrad(true);
        p.setGrad(Tensor.of(f, 3));
        assertEquals(3.0, GradClip.clipGradNorm(List.of(p), 1.5), 1e-6);
        assertArrayEquals(new float[]{0.5f, 1f, 1f}, p.grad().toFloatArray(), 1e-6f);
    }

    @Test
    void onDeviceVariantClipsLikeTheHostOneWithoutReadingTheNorm() {
        for (double max : new double[]{1.0, 10.0}) {
            Tensor a = paramWithGrad(new double[]{3, 0}), b = paramWithGrad(new double[]{0, 4, 0});
            Tensor a2 = paramWithGrad(new double[]{3, 0}), b2 = paramWithGrad(new double[]{0, 4, 0});
            Tensor none = Tensor.of(new double[2], 2).requiresGrad(true);
            double norm = GradClip.clipGradNorm(List.of(a, none, b), max);
            try (Tensor n = GradClip.clipGradNormOnDevice(List.of(a2, none, b2), max)) {
                assertEquals(norm, n.item(), 1e-12);
            }
            assertArrayEquals(a.grad().toDoubleArray(), a2.grad().toDoubleArray(), 1e-15);
            assertArrayEquals(b.grad().toDoubleArray(), b2.grad().toDoubleArray(), 1e-15);
        }
        assertEquals(null, GradClip.clipGradNormOnDevice(List.of(Tensor.of(new double[2], 2).requiresGrad(true)), 1.0));
    }
}
