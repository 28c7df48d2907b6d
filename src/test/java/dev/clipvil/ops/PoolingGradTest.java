package dev.clipvil.ops;

import dev.clipvil.backend.Pool2dParams;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GradCheck;
import org.junit.jupiter.api.Test;

import static dev.clipvil.testing.GradCheck.input;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

class PoolingGradTest {

    @Test
    void avgPoolWithPaddingCeilModeAndStridedInput() {
        Tensor x = input(1, 1, 2, 6, 5);
        for (boolean ceil : new boolean[]{false, true}) for (boolean cp : new boolean[]{false, true}) {
            Pool2dParams p = new Pool2dParams(3, 2, 2, 2, 1, 1, ceil, cp);
            GradCheck.check("avg_pool2d " + p, t -> Pooling.avgPool2d(t[0], p), x);
        }
        Tensor xt = input(2, 1, 2, 5, 6);
        GradCheck.check("avg_pool2d(transposed)", t -> Pooling.avgPool2d(Views.transpose(t[0], 2, 3), 2, 2), xt);
        GradCheck.check("avg_pool2d(overlapping)", t -> Pooling.avgPool2d(t[0], 3, 1), x);
    }

    @Test
    void adaptiveWithNonDivisibleSizes() {
        Tensor x = input(3, 1, 2, 7, 5);
        GradCheck.check("adaptive 7x5->3x2", t -> Pooling.adaptiveAvgPool2d(t[0], 3, 2), x);
        GradCheck.check("adaptive 7x5->4x7 (growing)", t -> Pooling.adaptiveAvgPool2d(t[0], 4, 7), x);
    }

    @Test
    void globalAvgPool() {
        Tensor x = input(4, 2, 3, 3, 4);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor y = Pooling.globalAvgPool2d(x);
            assertArrayEquals(new int[]{2, 3}, y.shape());
            assertArrayEquals(Reductions.mean(x, new int[]{2, 3}, false).toDoubleArray(), y.toDoubleArray(), 1e-12);
        }
        GradCheck.check("global_avg_pool2d", t -> Pooling.globalAvgPool2d(t[0]), x);
        GradCheck.check("global_avg_pool2d(permuted)", t -> Pooling.globalAvgPool2d(Views.permute(t[0], 0, 1, 3, 2)), x);
    }
}
