package dev.clipvil.clip;

import dev.clipvil.autograd.GradMode;
import dev.clipvil.io.SafeTensors;
import dev.clipvil.nn.Init;
import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ClipLoader: format detection, config sources, strict loading with named keys, and its refusals. */
class ClipLoaderTest {
    @TempDir
    Path tmp;

    static final String OPENAI_ARGS = "{\"embed_dim\": 6, \"image_resolution\": 8, \"vision_layers\": 1, \"vision_width\": 8, \"vision_patch_size\": 4,"
            + " \"vision_heads\": 2, \"context_length\": 7, \"vocab_size\": 20, \"transformer_width\": 8, \"transformer_heads\": 2, \"transformer_layers\": 2}";

    static String hfConfig(String act, int textHidden) {
        return "{\"architectures\": [\"CLIPModel\"], \"projection_dim\": 6, \"text_config\": {\"hidden_size\": " + textHidden + ", \"num_attention_heads\": 2,"
                + " \"num_hidden_layers\": 2, \"max_position_embeddings\": 7, \"vocab_size\": 20, \"intermediate_size\": 32, \"hidden_act\": \"" + act + "\","
                + " \"layer_norm_eps\": 1e-05, \"projection_dim\": 512}, \"vision_config\": {\"hidden_size\": 8, \"num_attention_heads\": 2,"
                + " \"num_hidden_layers\": 1, \"image_size\": 8, \"patch_size\": 4, \"num_channels\": 3, \"hidden_act\": \"" + act + "\"}}";
    }

    /** The logits of both models on the same random batch agree exactly (same weights, same code). */
    private static void assertSameOutputs(Clip a, Clip b) {
        try (MemoryScope s = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
            Tensor pixels = Creation.randn(31, DType.F32, 2, 3, 8, 8);
            Tensor ids = ClipTest.ids(new int[]{3, 6}, 7);
            assertArrayEquals(a.forward(pixels, ids).logitsPerImage().toDoubleArray(), b.forward(pixels, ids).logitsPerImage().toDoubleArray(), 0);
        }
    }

    @Test
    void openAiSafetensorsWithConstructorArgs() throws IOException {
        try (Clip clip = new Clip(ClipTest.tiny(), new Init(41))) {
            Map<String, Tensor> sd = new LinkedHashMap<>(clip.stateDict());
            Tensor res = Tensor.ofLongs(new long[]{8}), ctx = Tensor.ofLongs(new long[]{7}), vocab = Tensor.ofLongs(new long[]{20});
            sd.put("input_resolution", res); // as in OpenAI's released state dicts: dropped by build_model
            sd.put("context_length", ctx);
            sd.put("vocab_size", vocab);
            SafeTensors.write(tmp.resolve("model.safetensors"), sd);
            res.close();
            ctx.close();
            vocab.close();
            // without config.json the reference's heads rule gives 0 heads for width 8
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClipLoader.load(tmp));
            assertTrue(e.getMessage().contains("transformer_heads"), e.getMessage());
            Files.writeString(tmp.resolve("config.json"), OPENAI_ARGS);
            for (Path p : new Path[]{tmp, tmp.resolve("model.safetensors")}) {
                try (Clip loaded = ClipLoader.load(p)) {
                    assertEquals(ClipTest.tiny(), loaded.config());
                    assertTrue(!loaded.isTraining());
                    assertSameOutputs(clip, loaded);
                }
            }
        }
    }

    @Test
    void hfFolderWithItsConfig() throws IOException {
        try (Clip clip = new Clip(ClipTest.tiny(), new Init(42))) {
            Map<String, Tensor> hf = HfClipKeys.toHf(clip.stateDict());
            Tensor ids = Creation.zeros(DType.I64, 1, 7);
            hf.put("text_model.embeddings.position_ids", ids); // older HF checkpoints carry it
            SafeTensors.write(tmp.resolve("model.safetensors"), hf);
            hf.values().forEach(Tensor::close);
            // HF key names without an HF config: the heads are unknown
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClipLoader.load(tmp));
            assertTrue(e.getMessage().contains("no HF config.json"), e.getMessage());
            Files.writeString(tmp.resolve("config.json"), hfConfig("quick_gelu", 8));
            try (Clip loaded = ClipLoader.load(tmp)) {
                assertEquals(ClipTest.tiny(), loaded.config());
                assertSameOutputs(clip, loaded);
            }
            Files.writeString(tmp.resolve("config.json"), hfConfig("gelu", 8));
            try (Clip loaded = ClipLoader.load(tmp.resolve("model.safetensors"))) {
                assertEquals(Activation.GELU, loaded.config().textActivation());
                assertEquals(Activation.GELU, loaded.config().visionActivation());
                for (var m : loaded.namedModules().values()) if (m instanceof Mlp mlp) assertEquals(Activation.GELU, mlp.activation());
            }
            Files.writeString(tmp.resolve("config.json"), hfConfig("quick_gelu", 16));
            e = assertThrows(IllegalArgumentException.class, () -> ClipLoader.load(tmp));
            assertTrue(e.getMessage().contains("text_config.hidden_size is 16 but the weights have 8"), e.getMessage());
            Files.writeString(tmp.resolve("config.json"), hfConfig("quick_gelu", 8).replace("\"intermediate_size\": 32", "\"intermediate_size\": 24"));
            e = assertThrows(IllegalArgumentException.class, () -> ClipLoader.load(tmp));
            assertTrue(e.getMessage().contains("text_config.intermediate_size is 24; CLIP blocks have an MLP of 4 x hidden_size = 32"), e.getMessage());
            Files.writeString(tmp.resolve("config.json"), hfConfig("relu", 8));
            e = assertThrows(IllegalArgumentException.class, () -> ClipLoader.load(tmp));
            assertTrue(e.getMessage().contains("relu"), e.getMessage());
        }
    }

    @Test
    void missingAndUnexpectedKeysAreNamed() throws IOException {
        try (Clip clip = new Clip(ClipTest.tiny(), new Init(43))) {
            Map<String, Tensor> sd = new LinkedHashMap<>(clip.stateDict());
            sd.remove("visual.ln_post.bias");
            Tensor extra = Creation.zeros(3);
            sd.put("visual.attn_pool.query", extra);
            SafeTensors.write(tmp.resolve("weights.safetensors"), sd);
            extra.close();
            Files.writeString(tmp.resolve("config.json"), OPENAI_ARGS);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClipLoader.load(tmp));
            assertTrue(e.getMessage().contains("missing key: visual.ln_post.bias"), e.getMessage());
            assertTrue(e.getMessage().contains("unexpected key: visual.attn_pool.query"), e.getMessage());
            assertTrue(e.getMessage().contains("weights.safetensors"), e.getMessage());
        }
    }

    @Test
    void refusals() throws IOException {
        assertThrows(NoSuchFileException.class, () -> ClipLoader.load(tmp.resolve("absent")));
        assertThrows(NoSuchFileException.class, () -> ClipLoader.load(tmp));
        Files.writeString(tmp.resolve("a.pt"), "x");
        IOException e = assertThrows(IOException.class, () -> ClipLoader.load(tmp));
        assertTrue(e.getMessage().contains("a.pt") && e.getMessage().contains("PyTorch"), e.getMessage());
        Files.writeString(tmp.resolve("b.safetensors"), "x");
        e = assertThrows(IOException.class, () -> ClipLoader.load(tmp));
        assertTrue(e.getMessage().contains("several weights files"), e.getMessage());
        Files.writeString(tmp.resolve("config.json"), "[1, 2]");
        e = assertThrows(IOException.class, () -> ClipLoader.load(tmp.resolve("a.pt")));
        assertTrue(e.getMessage().contains("config.json"), e.getMessage());
    }
}
