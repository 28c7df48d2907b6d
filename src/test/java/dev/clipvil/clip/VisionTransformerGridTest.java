package dev.clipvil.clip;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.nn.Init;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Normalization;
import dev.clipvil.ops.Reductions;
import dev.clipvil.ops.Views;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ViT at input sizes other than the trained one (resized positional embedding) and its grid features. */
class VisionTransformerGridTest {
    private static VisionTransformer vit() {
        VisionTransformer v = new VisionTransformer(16, 4, 8, 1, 2, 6, new Init(7));
        v.to(DType.F64);
        return v;
    }

    @Test
    void trainedSizeUsesTheParameterItself() {
        try (VisionTransformer v = vit()) {
            assertSame(v.stateDict().get("positional_embedding"), v.positionalEmbedding(4, 4));
            assertTrue(v.namedBuffers().isEmpty());
        }
    }

    @Test
    void nonSquareInputsRunWithTheResizedEmbedding() {
        try (VisionTransformer v = vit(); MemoryScope s = MemoryScope.open()) {
            Tensor px = Creation.randn(1, DType.F64, 2, 3, 12, 20);                      // a 3 x 5 patch grid
            assertArrayEquals(new int[]{2, 16, 8}, v.forwardTokens(px).shape());
            assertArrayEquals(new int[]{2, 6}, v.forward(px).shape());
            Tensor pe = v.stateDict().get("positional_embedding");
            Tensor resized = v.positionalEmbedding(3, 5);
            assertArrayEquals(new int[]{16, 8}, resized.shape());
            // the class token's embedding is kept; the grid rows are the bicubic resize of the parameter's
            double[] p = pe.toDoubleArray(), r = resized.toDoubleArray(), m = PositionalEmbeddingInterpolation.matrix(4, 4, 3, 5);
            for (int c = 0; c < 8; c++) {
                assertTrue(p[c] == r[c]);
                for (int i = 0; i < 15; i++) {
                    double want = 0;
                    for (int j = 0; j < 16; j++) want += m[i * 16 + j] * p[(1 + j) * 8 + c];
                    assertTrue(Math.abs(want - r[(1 + i) * 8 + c]) < 1e-12);
                }
            }
            // changing a grid row of the parameter changes the output (the CLIP-ViL bug left it unused)
            double[] before = v.forward(px).toDoubleArray();
            pe.hostStorage().f64()[pe.elementOffset(6, 2)] += 1;
            double[] after = v.forward(px).toDoubleArray();
            double diff = 0;
            for (int i = 0; i < before.length; i++) diff = Math.max(diff, Math.abs(before[i] - after[i]));
            assertTrue(diff > 1e-4, "output did not depend on the positional embedding parameter (max change " + diff + ")");
            // and fine-tuning reaches it
            Autograd.backward(Reductions.sum(v.forwardGrid(px)));
            double g = 0;
            for (double x : pe.grad().toDoubleArray()) g += Math.abs(x);
            assertTrue(g > 0);
            v.zeroGrad();
        }
    }

    @Test
    void gridFeaturesAreTheLnPostPatchTokens() {
        try (VisionTransformer v = vit(); MemoryScope s = MemoryScope.open()) {
            Tensor px = Creation.randn(2, DType.F64, 2, 3, 8, 12);                       // a 2 x 3 patch grid
            Tensor grid = v.forwardGrid(px);
            assertArrayEquals(new int[]{2, 8, 2, 3}, grid.shape());
            Map<String, Tensor> sd = v.stateDict();
            Tensor tokens = v.forwardTokens(px);
            Tensor ln = Normalization.layerNorm(tokens, sd.get("ln_post.weight"), sd.get("ln_post.bias"), 1e-5);
            for (int b = 0; b < 2; b++) {
                for (int y = 0; y < 2; y++) {
                    for (int x = 0; x < 3; x++) {
                        for (int c = 0; c < 8; c++) {
                            double want = ln.get(b, 1 + y * 3 + x, c);
                            assertTrue(Math.abs(want - grid.get(b, c, y, x)) < 1e-12);
                        }
                    }
                }
            }
            // at the trained size too
            assertArrayEquals(new int[]{1, 8, 4, 4}, v.forwardGrid(Views.narrow(Creation.randn(3, DType.F64, 1, 3, 16, 16), 0, 0, 1)).shape());
        }
    }

    @Test
    void ignoresTheRemainderOfNonPatchMultiplesAndRejectsTooSmallInputs() {
        try (VisionTransformer v = vit(); MemoryScope s = MemoryScope.open()) {
            // as the stride-patch conv of the reference: 16 x 18 at patch 4 is the 16 x 16 crop's 4 x 4 grid
            Tensor x = Creation.randn(4, DType.F64, 1, 3, 16, 18);
            assertArrayEquals(v.forward(Views.narrow(x, 3, 0, 16)).toDoubleArray(), v.forward(x).toDoubleArray(), 1e-12);
            assertArrayEquals(new int[]{1, 8, 4, 4}, v.forwardGrid(x).shape());
            assertThrows(ShapeException.class, () -> v.forward(Creation.zeros(DType.F64, 1, 3, 16, 3)));
            assertThrows(ShapeException.class, () -> v.forward(Creation.zeros(DType.F64, 1, 3, 0, 16)));
            assertThrows(ShapeException.class, () -> v.forward(Creation.zeros(DType.F64, 1, 1, 16, 16)));
        }
    }
}
