package dev.clipvil.vil;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.autograd.GradMode;
import dev.clipvil.clip.ClipConfig;
import dev.clipvil.clip.ImageEncoder;
import dev.clipvil.clip.ImageEncoders;
import dev.clipvil.nn.Init;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Indexing;
import dev.clipvil.ops.Reductions;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ClipVil with a CLIP image tower: key names, shared backbone passes, gradients into the tower. */
class ClipVilBackboneTest {
    static ImageEncoder tinyVit(long seed) {
        ClipConfig c = ClipConfig.vit(8, 32, 1, 16, 8, 8, 10, 16, 2, 1).withHeads(2, 2);
        return ImageEncoders.create(c, new Init(seed));
    }

    @Test
    void backboneKeysAreOpenAiVisualKeys() {
        try (ClipVil m = new ClipVil(ClipVilTest.TINY, tinyVit(1), 5, new Init(2))) {
            var p = m.namedParameters();
            assertTrue(p.containsKey("visual.conv1.weight"));
            assertTrue(p.containsKey("visual.transformer.resblocks.0.attn.in_proj_weight"));
            assertArrayEquals(new int[]{25, 16}, p.get("visual_tokens.row_embeddings").shape());
            assertEquals(16, m.visualTokens().features());
        }
    }

    @Test
    void sharedBackbonePassEqualsOnePassPerQuestion() {
        try (ClipVil m = new ClipVil(ClipVilTest.TINY, tinyVit(3), 5, new Init(4)); MemoryScope s = MemoryScope.open();
             var ng = GradMode.noGrad()) {
            m.eval();
            Tensor pixels = Creation.randn(5, DType.F32, 2, 3, 32, 32);
            Tensor ids = Tensor.ofInts(new int[]{2, 5, 3, 0, 2, 7, 8, 3, 2, 9, 3, 0}, 3, 4);
            Tensor mask = Tensor.ofInts(new int[]{1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0}, 3, 4);
            Tensor which = Tensor.ofInts(new int[]{1, 0, 1}, 3);
            float[] shared = m.forwardImages(ids, null, mask, pixels, which).toFloatArray();
            Tensor perQuestion = Indexing.indexSelect(pixels, 0, which);
            float[] separate = m.forwardImages(ids, null, mask, perQuestion, null).toFloatArray();
            assertArrayEquals(separate, shared, 1e-5f);
        }
    }

    @Test
    void gradientsReachTheBackbone() {
        try (ClipVil m = new ClipVil(ClipVilTest.TINY, tinyVit(5), 5, new Init(6)); MemoryScope s = MemoryScope.open()) {
            m.train();
            Tensor logits = m.forwardImages(Tensor.ofInts(new int[]{2, 5, 3}, 1, 3), null, null,
                    Creation.randn(7, DType.F32, 1, 3, 32, 32), null);
            Autograd.backward(Reductions.sum(logits));
            Tensor g = m.namedParameters().get("visual.conv1.weight").grad();
            assertNotNull(g);
            double norm = 0;
            for (float v : g.toFloatArray()) norm += v * v;
            assertTrue(norm > 0, "no gradient reached visual.conv1.weight");
        }
    }

    @Test
    void gridModelRefusesPixels() {
        try (ClipVil m = new ClipVil(ClipVilTest.TINY, 6, 5, new Init(1)); MemoryScope s = MemoryScope.open()) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> m.forwardImages(Tensor.ofInts(new int[]{2}, 1, 1), null, null, Creation.zeros(1, 3, 32, 32), null));
            assertTrue(e.getMessage().contains("no image backbone"), e.getMessage());
        }
    }
}
