package dev.clipvil.clip;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.clipvil.nn.Init;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ClipConfig: the reference's build_model inference from shapes alone, the presets, and config.json overrides. */
class ClipConfigTest {

    /**
     * The keys and shapes an OpenAI state dict of {@code c} has that build_model reads (plus a few
     * others it must ignore), without allocating any tensor.
     */
    static Map<String, int[]> openAiShapes(ClipConfig c) {
        Map<String, int[]> s = new LinkedHashMap<>();
        int e = c.embedDim(), tw = c.transformerWidth(), w = c.visionWidth();
        s.put("positional_embedding", new int[]{c.contextLength(), tw});
        s.put("text_projection", new int[]{tw, e});
        s.put("logit_scale", new int[0]);
        if (c.isVit()) {
            int p = c.visionPatchSize(), g = c.imageResolution() / p;
            s.put("visual.class_embedding", new int[]{w});
            s.put("visual.positional_embedding", new int[]{g * g + 1, w});
            s.put("visual.proj", new int[]{w, e});
            s.put("visual.conv1.weight", new int[]{w, 3, p, p});
            s.put("visual.ln_pre.weight", new int[]{w});
            for (int i = 0; i < c.visionLayers().get(0); i++) block(s, "visual.transformer.resblocks." + i + ".", w);
        } else {
            s.put("visual.conv1.weight", new int[]{w / 2, 3, 3, 3});
            int inplanes = w;
            for (int b = 1; b <= 4; b++) {
                int planes = w << (b - 1);
                for (int i = 0; i < c.visionLayers().get(b - 1); i++) {
                    String p = "visual.layer" + b + "." + i + ".";
                    s.put(p + "conv1.weight", new int[]{planes, inplanes, 1, 1});
                    s.put(p + "bn1.running_mean", new int[]{planes});
                    s.put(p + "conv3.weight", new int[]{planes * 4, planes, 1, 1});
                    if (i == 0) s.put(p + "downsample.0.weight", new int[]{planes * 4, inplanes, 1, 1});
                    inplanes = planes * 4;
                }
            }
            int g = c.imageResolution() / 32;
            s.put("visual.attnpool.positional_embedding", new int[]{g * g + 1, w * 32});
            s.put("visual.attnpool.q_proj.weight", new int[]{w * 32, w * 32});
            s.put("visual.attnpool.c_proj.weight", new int[]{e, w * 32});
        }
        for (int i = 0; i < c.transformerLayers(); i++) block(s, "transformer.resblocks." + i + ".", tw);
        s.put("token_embedding.weight", new int[]{c.vocabSize(), tw});
        s.put("ln_final.weight", new int[]{tw});
        s.put("ln_final.bias", new int[]{tw});
        return s;
    }

    private static void block(Map<String, int[]> s, String p, int w) {
        s.put(p + "attn.in_proj_weight", new int[]{3 * w, w});
        s.put(p + "attn.in_proj_bias", new int[]{3 * w});
        s.put(p + "attn.out_proj.weight", new int[]{w, w});
        s.put(p + "ln_1.weight", new int[]{w});
        s.put(p + "mlp.c_fc.weight", new int[]{4 * w, w});
        s.put(p + "mlp.c_proj.weight", new int[]{w, 4 * w});
        s.put(p + "ln_2.weight", new int[]{w});
    }

    @Test
    void everyPresetIsInferredFromTheShapesOfItsStateDict() {
        assertEquals(List.of("RN50", "RN101", "RN50x4", "RN50x16", "RN50x64", "ViT-B/32", "ViT-B/16", "ViT-L/14", "ViT-L/14@336px"),
                List.copyOf(ClipPresets.all().keySet()));
        for (var e : ClipPresets.all().entrySet()) {
            assertEquals(e.getValue(), ClipConfig.fromStateDictShapes(openAiShapes(e.getValue())), e.getKey());
        }
    }

    @Test
    void presetNumbers() {
        ClipConfig b32 = ClipPresets.get("ViT-B/32");
        assertEquals(List.of(12), b32.visionLayers());
        assertEquals(768, b32.visionWidth());
        assertEquals(12, b32.visionHeads());
        assertEquals(32, b32.visionPatchSize());
        assertEquals(7, b32.grid());
        assertEquals(512, b32.embedDim());
        assertEquals(8, b32.transformerHeads());
        ClipConfig l336 = ClipPresets.get("ViT-L/14@336px");
        assertEquals(336, l336.imageResolution());
        assertEquals(24, l336.grid());
        assertEquals(16, l336.visionHeads());
        ClipConfig rn50x4 = ClipPresets.get("RN50x4");
        assertTrue(rn50x4.isResNet());
        assertEquals(List.of(4, 6, 10, 6), rn50x4.visionLayers());
        assertEquals(40, rn50x4.visionHeads()); // width 80 * 32 / 64
        assertEquals(288, rn50x4.imageResolution());
        assertEquals(640, rn50x4.embedDim());
        assertEquals(List.of(3, 15, 36, 10), ClipPresets.get("RN50x64").visionLayers());
        assertEquals(List.of(3, 4, 23, 3), ClipPresets.get("RN101").visionLayers());
        for (ClipConfig c : ClipPresets.all().values()) {
            assertEquals(77, c.contextLength());
            assertEquals(49408, c.vocabSize());
            assertEquals(12, c.transformerLayers());
            c.requireBuildable();
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClipPresets.get("ViT-H/14"));
        assertTrue(e.getMessage().contains("ViT-B/32"), e.getMessage());
    }

    @Test
    void aBuiltModelsStateDictGivesItsConfigBack() {
        ClipConfig c = ClipConfig.vit(6, 8, 2, 8, 4, 7, 20, 8, 2, 3).withHeads(2, 2);
        try (Clip m = new Clip(c, new Init(1))) {
            Map<String, int[]> shapes = new LinkedHashMap<>();
            for (var e : m.stateDict().entrySet()) shapes.put(e.getKey(), e.getValue().shape());
            // width 8 is below 64: the reference's rule gives 0 heads, which is what config.json overrides
            assertEquals(c.withHeads(0, 0), ClipConfig.fromStateDictShapes(shapes));
        }
    }

    @Test
    void constructorArgumentsOverrideTheInference() {
        JsonObject vit = JsonParser.parseString("{\"embed_dim\": 24, \"image_resolution\": 32, \"vision_layers\": 2, \"vision_width\": 128,"
                + " \"vision_patch_size\": 16, \"context_length\": 77, \"vocab_size\": 49408, \"transformer_width\": 16,"
                + " \"transformer_heads\": 2, \"transformer_layers\": 2}").getAsJsonObject();
        ClipConfig a = ClipConfig.fromConstructorArgs(vit);
        assertEquals(ClipConfig.vit(24, 32, 2, 128, 16, 77, 49408, 16, 2, 2), a);
        assertEquals(2, a.visionHeads());
        ClipConfig inferred = ClipConfig.fromStateDictShapes(openAiShapes(a));
        assertEquals(0, inferred.transformerHeads());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, inferred::requireBuildable);
        assertTrue(e.getMessage().contains("transformer_heads"), e.getMessage());
        assertEquals(a, inferred.overriddenBy(vit));
        JsonObject heads = JsonParser.parseString("{\"transformer_heads\": 4}").getAsJsonObject();
        assertEquals(4, inferred.overriddenBy(heads).transformerHeads());
        assertEquals(2, inferred.overriddenBy(heads).visionHeads());

        JsonObject rn = JsonParser.parseString("{\"embed_dim\": 24, \"image_resolution\": 64, \"vision_layers\": [1, 1, 1, 1], \"vision_width\": 8,"
                + " \"vision_patch_size\": null, \"context_length\": 77, \"vocab_size\": 49408, \"transformer_width\": 16,"
                + " \"transformer_heads\": 2, \"transformer_layers\": 2}").getAsJsonObject();
        ClipConfig r = ClipConfig.fromConstructorArgs(rn);
        assertEquals(ClipConfig.resnet(24, 64, new int[]{1, 1, 1, 1}, 8, 77, 49408, 16, 2, 2), r);
        assertEquals(4, r.visionHeads());
        assertEquals(r, ClipConfig.fromStateDictShapes(openAiShapes(r)).overriddenBy(rn));

        JsonObject bad = JsonParser.parseString("{\"embed_dims\": 24}").getAsJsonObject();
        e = assertThrows(IllegalArgumentException.class, () -> a.overriddenBy(bad));
        assertTrue(e.getMessage().contains("embed_dims"), e.getMessage());
        JsonObject partial = JsonParser.parseString("{\"embed_dim\": 24}").getAsJsonObject();
        e = assertThrows(IllegalArgumentException.class, () -> ClipConfig.fromConstructorArgs(partial));
        assertTrue(e.getMessage().contains("image_resolution"), e.getMessage());
    }

    @Test
    void notAClipStateDictIsRefusedByKey() {
        Map<String, int[]> s = openAiShapes(ClipPresets.get("ViT-B/32"));
        s.remove("visual.proj");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClipConfig.fromStateDictShapes(s));
        assertTrue(e.getMessage().contains("visual.proj") && e.getMessage().contains("visual.layer1.0.conv1.weight"), e.getMessage());
        Map<String, int[]> t = openAiShapes(ClipPresets.get("RN50"));
        t.remove("text_projection");
        e = assertThrows(IllegalArgumentException.class, () -> ClipConfig.fromStateDictShapes(t));
        assertTrue(e.getMessage().contains("'text_projection'"), e.getMessage());
        Map<String, int[]> u = openAiShapes(ClipPresets.get("RN50"));
        u.put("visual.attnpool.positional_embedding", new int[]{51, 2048});
        e = assertThrows(IllegalArgumentException.class, () -> ClipConfig.fromStateDictShapes(u));
        assertTrue(e.getMessage().contains("51 positions"), e.getMessage());
    }

    @Test
    void invalidConfigsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new ClipConfig(1, 32, List.of(1, 2), 8, 0, 1, 7, 10, 8, 1, 1,
                Activation.QUICK_GELU, Activation.QUICK_GELU));
        assertThrows(IllegalArgumentException.class, () -> ClipConfig.vit(0, 32, 1, 64, 16, 7, 10, 64, 1, 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClipConfig.vit(8, 30, 1, 64, 16, 7, 10, 64, 1, 1).requireBuildable());
        assertTrue(e.getMessage().contains("not a multiple of visionPatchSize"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ClipConfig.vit(8, 32, 1, 64, 16, 7, 10, 64, 3, 1).requireBuildable());
        assertTrue(e.getMessage().contains("transformerHeads 3"), e.getMessage());
    }
}
