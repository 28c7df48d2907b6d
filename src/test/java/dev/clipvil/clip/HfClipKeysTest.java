package dev.clipvil.clip;

import dev.clipvil.nn.Init;
import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The HF CLIPModel <-> OpenAI key table: names, q/k/v packing, transposed projections, round trips. */
class HfClipKeysTest {
    private static void closeAll(Map<String, Tensor> m) { m.values().forEach(Tensor::close); }

    @Test
    void openAiToHfAndBackIsExact() {
        try (Clip clip = new Clip(ClipTest.tiny(), new Init(21))) {
            Map<String, Tensor> sd = clip.stateDict();
            Map<String, Tensor> hf = HfClipKeys.toHf(sd);
            try {
                assertTrue(HfClipKeys.isHf(hf.keySet()));
                assertFalse(HfClipKeys.isHf(sd.keySet()));
                // the 50 OpenAI tensors become 58 HF ones: each of the 3 blocks' in_proj weight and bias split in three
                assertEquals(sd.size() + 3 * 2 * 2, hf.size());
                for (String k : List.of("text_model.embeddings.token_embedding.weight", "text_model.embeddings.position_embedding.weight",
                        "text_model.encoder.layers.1.self_attn.v_proj.bias", "text_model.encoder.layers.0.mlp.fc2.weight",
                        "text_model.encoder.layers.0.layer_norm1.weight", "text_model.final_layer_norm.bias", "text_projection.weight",
                        "vision_model.embeddings.class_embedding", "vision_model.embeddings.patch_embedding.weight",
                        "vision_model.embeddings.position_embedding.weight", "vision_model.pre_layrnorm.weight",
                        "vision_model.encoder.layers.0.self_attn.k_proj.weight", "vision_model.encoder.layers.0.self_attn.out_proj.bias",
                        "vision_model.post_layernorm.weight", "visual_projection.weight", "logit_scale")) {
                    assertTrue(hf.containsKey(k), k);
                }
                assertArrayEquals(new int[]{ClipTest.EMBED, 8}, hf.get("visual_projection.weight").shape());
                assertArrayEquals(new int[]{ClipTest.EMBED, ClipTest.TW}, hf.get("text_projection.weight").shape());
                // q, k, v are the row thirds of in_proj_weight; the projections are transposed
                Tensor inProj = sd.get("transformer.resblocks.1.attn.in_proj_weight"), k = hf.get("text_model.encoder.layers.1.self_attn.k_proj.weight");
                for (int r = 0; r < ClipTest.TW; r++) for (int c = 0; c < ClipTest.TW; c++) assertEquals(inProj.get(ClipTest.TW + r, c), k.get(r, c), 0);
                Tensor proj = sd.get("visual.proj"), vp = hf.get("visual_projection.weight");
                for (int r = 0; r < 8; r++) for (int c = 0; c < ClipTest.EMBED; c++) assertEquals(proj.get(r, c), vp.get(c, r), 0);
                Tensor ln = hf.get("text_model.final_layer_norm.weight");
                assertNotSame(sd.get("ln_final.weight"), ln, "every value is the caller's own handle");
                assertSame(sd.get("ln_final.weight").storage(), ln.storage(), "renamed tensors are not copied");

                Map<String, Tensor> back = HfClipKeys.toOpenAi(hf);
                try {
                    assertEquals(sd.keySet(), back.keySet());
                    for (var e : sd.entrySet()) {
                        assertArrayEquals(e.getValue().shape(), back.get(e.getKey()).shape(), e.getKey());
                        assertArrayEquals(e.getValue().toDoubleArray(), back.get(e.getKey()).toDoubleArray(), 0, e.getKey());
                    }
                } finally {
                    closeAll(back);
                }
            } finally {
                closeAll(hf);
            }
        }
    }

    @Test
    void unknownAndIncompleteKeysSurviveForTheStrictLoadToName() {
        Map<String, Tensor> hf = new LinkedHashMap<>();
        hf.put("text_model.embeddings.position_ids", Creation.zeros(DType.I64, 1, 77));
        hf.put("text_model.encoder.layers.0.self_attn.q_proj.weight", Creation.zeros(4, 4));
        hf.put("text_model.encoder.layers.0.self_attn.k_proj.weight", Creation.zeros(4, 4));
        hf.put("text_model.encoder.layers.0.mlp.fc3.weight", Creation.zeros(4, 4));
        hf.put("vision_model.something_new", Creation.zeros(2));
        Map<String, Tensor> out = HfClipKeys.toOpenAi(hf);
        try {
            assertEquals(List.of("text_model.encoder.layers.0.mlp.fc3.weight", "vision_model.something_new",
                    "text_model.encoder.layers.0.self_attn.q_proj.weight", "text_model.encoder.layers.0.self_attn.k_proj.weight"), List.copyOf(out.keySet()));
        } finally {
            closeAll(out);
            closeAll(hf);
        }
    }

    @Test
    void aResNetTowerHasNoHfNames() {
        Map<String, Tensor> sd = Map.of("visual.layer1.0.conv1.weight", Creation.zeros(1, 1, 1, 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfClipKeys.toHf(sd));
        assertTrue(e.getMessage().contains("visual.layer1.0.conv1.weight"), e.getMessage());
        closeAll(sd);
    }
}
