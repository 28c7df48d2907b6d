package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GradCheck;
import org.junit.jupiter.api.Test;

import static dev.clipvil.testing.GradCheck.input;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LossesGradTest {

    @Test
    void hardTargetsWithAnIgnoredRowEveryReduction() {
        Tensor logits = input(1, 4, 5);
        Tensor target = Tensor.ofLongs(new long[]{2, -100, 0, 4}, 4);
        for (Reduction r : Reduction.values()) {
            GradCheck.check("cross_entropy " + r, t -> Losses.crossEntropy(t[0], target, -100, r), logits);
        }
        GradCheck.check("cross_entropy(default)", t -> Losses.crossEntropy(t[0], target), logits);
        Tensor t32 = Tensor.ofInts(new int[]{1, 1, 3, 1}, 4);
        GradCheck.check("cross_entropy(ignore 1, transposed)",
                t -> Losses.crossEntropy(Views.transpose(t[0], 0, 1), t32, 1, Reduction.MEAN), input(2, 5, 4));
    }

    @Test
    void meanCountsOnlyRowsThatAreNotIgnored() {
        Tensor logits = input(3, 3, 4);
        Tensor target = Tensor.ofInts(new int[]{1, -100, 3}, 3);
        try (MemoryScope s = MemoryScope.open()) {
            double[] rows = Losses.crossEntropy(logits, target, -100, Reduction.NONE).toDoubleArray();
            assertEquals(0.0, rows[1]);
            assertEquals(rows[0] + rows[2], Losses.crossEntropy(logits, target, -100, Reduction.SUM).item(), 1e-12);
            assertEquals((rows[0] + rows[2]) / 2, Losses.crossEntropy(logits, target).item(), 1e-12);
            assertArrayEquals(new int[0], Losses.crossEntropy(logits, target).shape());
            Tensor all = Tensor.ofInts(new int[]{-100, -100, -100}, 3);
            assertTrue(Double.isNaN(Losses.crossEntropy(logits, all).item()), "mean over no rows is NaN, as in PyTorch");
        }
    }

    @Test
    void softTargets() {
        Tensor logits = input(4, 3, 4);
        Tensor target = Tensor.of(new double[]{0.1, 0.2, 0.3, 0.4, 0, 0, 1, 0, 0.25, 0.25, 0.25, 0.25}, 3, 4);
        for (Reduction r : Reduction.values()) {
            GradCheck.check("cross_entropy(soft) " + r, t -> Losses.crossEntropy(t[0], target, -100, r), logits);
        }
        try (MemoryScope s = MemoryScope.open()) {
            double[] rows = Losses.crossEntropy(logits, target, -100, Reduction.NONE).toDoubleArray();
            assertEquals((rows[0] + rows[1] + rows[2]) / 3, Losses.crossEntropy(logits, target).item(), 1e-12);
        }
    }

    @Test
    void spatialLogitsWithTheClassDimSecond() {
        // [N, C, d] = [2, 4, 3], as PyTorch: class dim 1, targets [N, d].
        Tensor logits = input(5, 2, 4, 3);
        Tensor target = Tensor.ofLongs(new long[]{0, 3, -100, 2, 1, 1}, 2, 3);
        for (Reduction r : Reduction.values()) {
            GradCheck.check("cross_entropy(spatial) " + r, t -> Losses.crossEntropy(t[0], target, -100, r), logits);
        }
        Tensor soft = Creation.rand(6, DType.F64, 2, 4, 3);
        GradCheck.check("cross_entropy(spatial soft)", t -> Losses.crossEntropy(t[0], soft, -100, Reduction.MEAN), logits);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor rows = Losses.crossEntropy(logits, target, -100, Reduction.NONE);
            assertArrayEquals(new int[]{2, 3}, rows.shape());
            // row (1, 2) has class 1: -log softmax over logits[1, :, 2]
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int k = 0; k < 4; k++) max = Math.max(max, logits.get(1, k, 2));
            for (int k = 0; k < 4; k++) sum += Math.exp(logits.get(1, k, 2) - max);
            assertEquals(max + Math.log(sum) - logits.get(1, 1, 2), rows.get(1, 2), 1e-12);
        }
        ShapeException e = assertThrows(ShapeException.class, () -> Losses.crossEntropy(logits, Tensor.ofInts(new int[6], 3, 2)));
        assertTrue(e.getMessage().contains("[3, 2]") && e.getMessage().contains("[2, 3]"), e.getMessage());
        assertThrows(ShapeException.class, () -> Losses.crossEntropy(Creation.zeros(DType.F64, 4), Tensor.ofInts(new int[]{1}, 1)));
    }

    @Test
    void bceWithLogitsEveryReductionAndNoGradientToTheTarget() {
        Tensor x = input(7, -3.0, 3.0, 3, 4);
        Tensor target = Creation.rand(8, DType.F64, 3, 4).requiresGrad(true);
        for (Reduction r : Reduction.values()) {
            GradCheck.check("bce_with_logits " + r, t -> Losses.bceWithLogits(t[0], target, r), x);
        }
        GradCheck.check("bce_with_logits(transposed)", t -> Losses.bceWithLogits(Views.transpose(t[0], 0, 1), Views.transpose(target, 0, 1), Reduction.MEAN), x);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor none = Losses.bceWithLogits(x, target, Reduction.NONE);
            Tensor mean = Losses.bceWithLogits(x, target);
            assertEquals(Reductions.mean(none).item(), mean.item(), 1e-12);
            Autograd.backward(mean);
        }
        assertNull(target.grad());
        x.zeroGrad();
    }
}
