package dev.clipvil.clip;

import com.google.gson.JsonObject;

/**
 * Reads what an HF {@code CLIPModel} config.json adds to the shapes of its weights: the heads of each
 * tower (HF models need not follow OpenAI's width / 64 rule), the activations, and checks the rest.
 * Sizes come from the tensors ({@link ClipConfig#fromStateDictShapes} after {@link HfClipKeys}); where
 * the config states a size too it must agree, so that a config and weights that do not belong
 * together are refused by name. Missing fields take HF's defaults (text 8 heads, vision 12,
 * quick_gelu, layer_norm_eps 1e-5).
 */
final class HfClipConfig {
    private HfClipConfig() {}

    static boolean isHfConfig(JsonObject json) { return json.has("text_config") || json.has("vision_config"); }

    static ClipConfig apply(JsonObject json, ClipConfig inferred) {
        if (inferred.isResNet()) throw new IllegalArgumentException("HF CLIPModel checkpoints have a ViT image tower, these weights have a ResNet one");
        JsonObject text = object(json, "text_config"), vision = object(json, "vision_config");
        agree("projection_dim", json, inferred.embedDim());
        agree("text_config.hidden_size", text, "hidden_size", inferred.transformerWidth());
        agree("text_config.num_hidden_layers", text, "num_hidden_layers", inferred.transformerLayers());
        agree("text_config.max_position_embeddings", text, "max_position_embeddings", inferred.contextLength());
        agree("text_config.vocab_size", text, "vocab_size", inferred.vocabSize());
        mlpRatio("text_config", text, inferred.transformerWidth());
        agree("vision_config.hidden_size", vision, "hidden_size", inferred.visionWidth());
        agree("vision_config.num_hidden_layers", vision, "num_hidden_layers", inferred.visionLayers().get(0));
        agree("vision_config.patch_size", vision, "patch_size", inferred.visionPatchSize());
        agree("vision_config.image_size", vision, "image_size", inferred.imageResolution());
        mlpRatio("vision_config", vision, inferred.visionWidth());
        agree("vision_config.num_channels", vision, "num_channels", 3);
        for (var tower : new Object[][]{{"text_config", text}, {"vision_config", vision}}) {
            JsonObject c = (JsonObject) tower[1];
            if (c.has("layer_norm_eps") && Math.abs(c.get("layer_norm_eps").getAsDouble() - 1e-5) > 1e-12) {
                throw new IllegalArgumentException("config.json: " + tower[0] + ".layer_norm_eps is " + c.get("layer_norm_eps").getAsDouble()
                        + ", CLIP's layer norms use 1e-5");
            }
        }
        int textHeads = intOr(text, "num_attention_heads", 8), visionHeads = intOr(vision, "num_attention_heads", 12);
        Activation textAct = Activation.fromHf(stringOr(text, "hidden_act", "quick_gelu"));
        Activation visionAct = Activation.fromHf(stringOr(vision, "hidden_act", "quick_gelu"));
        return inferred.withHeads(visionHeads, textHeads).withActivations(visionAct, textAct);
    }

    private static JsonObject object(JsonObject json, String key) {
        return json.has(key) && json.get(key).isJsonObject() ? json.getAsJsonObject(key) : new JsonObject();
    }

    private static void agree(String what, JsonObject c, int actual) { agree(what, c, what, actual); }

    private static void agree(String what, JsonObject c, String key, int actual) {
        if (c.has(key) && !c.get(key).isJsonNull() && c.get(key).getAsInt() != actual) {
            throw new IllegalArgumentException("config.json: " + what + " is " + c.get(key).getAsInt() + " but the weights have " + actual);
        }
    }

    /** CLIP's block MLPs are 4x the width, as every released CLIP model's. */
    private static void mlpRatio(String tower, JsonObject c, int width) {
        if (c.has("intermediate_size") && c.get("intermediate_size").getAsInt() != 4 * width) {
            throw new IllegalArgumentException("config.json: " + tower + ".intermediate_size is " + c.get("intermediate_size").getAsInt()
                    + "; CLIP blocks have an MLP of 4 x hidden_size = " + 4 * width);
        }
    }

    private static int intOr(JsonObject c, String key, int fallback) {
        return c.has(key) && !c.get(key).isJsonNull() ? c.get(key).getAsInt() : fallback;
    }

    private static String stringOr(JsonObject c, String key, String fallback) {
        return c.has(key) && !c.get(key).isJsonNull() ? c.get(key).getAsString() : fallback;
    }
}
