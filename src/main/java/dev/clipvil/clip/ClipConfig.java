package dev.clipvil.clip;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;

/**
 * The constructor arguments of OpenAI's {@code CLIP} class, plus what the reference derives from them
 * (the heads of the image tower) and what HF configs may change (heads, activations).
 *
 * <p>{@code visionLayers} has one element (the block count) for a ViT image tower and four (the
 * bottleneck counts of layer1..layer4) for a ModifiedResNet, as the reference's
 * {@code Union[Tuple[int, int, int, int], int]}. {@code visionPatchSize} is 0 for a ResNet.
 * Heads may be 0 where the reference's rule (width / 64) gives 0 for a tiny model;
 * {@link #requireBuildable()} rejects that with a hint before a model is built.
 */
public record ClipConfig(int embedDim, int imageResolution, List<Integer> visionLayers, int visionWidth, int visionPatchSize,
                         int visionHeads, int contextLength, int vocabSize, int transformerWidth, int transformerHeads,
                         int transformerLayers, Activation visionActivation, Activation textActivation) {

    public ClipConfig {
        visionLayers = List.copyOf(visionLayers);
        if (visionLayers.size() != 1 && visionLayers.size() != 4) {
            throw new IllegalArgumentException("ClipConfig: visionLayers must be one block count (ViT) or four stage counts (ResNet), got " + visionLayers);
        }
        Objects.requireNonNull(visionActivation, "visionActivation");
        Objects.requireNonNull(textActivation, "textActivation");
        int[] sizes = {embedDim, imageResolution, visionWidth, contextLength, vocabSize, transformerWidth, transformerLayers};
        String[] names = {"embedDim", "imageResolution", "visionWidth", "contextLength", "vocabSize", "transformerWidth", "transformerLayers"};
        for (int i = 0; i < sizes.length; i++) {
            if (sizes[i] < 1) throw new IllegalArgumentException("ClipConfig: " + names[i] + " must be >= 1, got " + sizes[i]);
        }
        for (int n : visionLayers) if (n < 1) throw new IllegalArgumentException("ClipConfig: vision layer counts must be >= 1, got " + visionLayers);
        if (visionHeads < 0 || transformerHeads < 0 || visionPatchSize < 0) {
            throw new IllegalArgumentException("ClipConfig: heads and patch size must be >= 0, got visionHeads " + visionHeads
                    + ", transformerHeads " + transformerHeads + ", visionPatchSize " + visionPatchSize);
        }
        if (visionLayers.size() == 1 && visionPatchSize < 1) throw new IllegalArgumentException("ClipConfig: a ViT image tower needs visionPatchSize >= 1");
    }

    /** A ViT-tower config with the reference's rule for the image heads (width / 64) and QuickGELU. */
    public static ClipConfig vit(int embedDim, int imageResolution, int visionLayers, int visionWidth, int visionPatchSize,
                                 int contextLength, int vocabSize, int transformerWidth, int transformerHeads, int transformerLayers) {
        return new ClipConfig(embedDim, imageResolution, List.of(visionLayers), visionWidth, visionPatchSize, visionWidth / 64,
                contextLength, vocabSize, transformerWidth, transformerHeads, transformerLayers, Activation.QUICK_GELU, Activation.QUICK_GELU);
    }

    /** A ModifiedResNet-tower config with the reference's rule for the attention-pool heads (width * 32 / 64). */
    public static ClipConfig resnet(int embedDim, int imageResolution, int[] visionLayers, int visionWidth,
                                    int contextLength, int vocabSize, int transformerWidth, int transformerHeads, int transformerLayers) {
        if (visionLayers.length != 4) throw new IllegalArgumentException("ClipConfig.resnet: four stage counts expected, got " + Arrays.toString(visionLayers));
        return new ClipConfig(embedDim, imageResolution, Arrays.stream(visionLayers).boxed().toList(), visionWidth, 0, visionWidth * 32 / 64,
                contextLength, vocabSize, transformerWidth, transformerHeads, transformerLayers, Activation.QUICK_GELU, Activation.QUICK_GELU);
    }

    public boolean isResNet() { return visionLayers.size() == 4; }

    public boolean isVit() { return !isResNet(); }

    /** The reference's image-tower heads for a width: width / 64 (ViT) or width * 32 / 64 (ResNet attention pool). */
    public static int referenceVisionHeads(boolean resnet, int visionWidth) { return resnet ? visionWidth * 32 / 64 : visionWidth / 64; }

    /** ViT patch grid side (resolution / patch); 0 for a ResNet. */
    public int grid() { return isVit() ? imageResolution / visionPatchSize : 0; }

    public ClipConfig withHeads(int vision, int text) {
        return new ClipConfig(embedDim, imageResolution, visionLayers, visionWidth, visionPatchSize, vision, contextLength, vocabSize,
                transformerWidth, text, transformerLayers, visionActivation, textActivation);
    }

    public ClipConfig withActivations(Activation vision, Activation text) {
        return new ClipConfig(embedDim, imageResolution, visionLayers, visionWidth, visionPatchSize, visionHeads, contextLength, vocabSize,
                transformerWidth, transformerHeads, transformerLayers, vision, text);
    }

    /** Throws an IllegalArgumentException naming the first field a model cannot be built with. */
    public ClipConfig requireBuildable() {
        if (transformerHeads < 1 || transformerWidth % transformerHeads != 0) {
            throw new IllegalArgumentException("ClipConfig: text width " + transformerWidth + " is not a positive multiple of transformerHeads " + transformerHeads
                    + (transformerHeads == 0 ? " (the reference's width / 64 rule gives 0 for this width: give transformer_heads in a config.json beside the weights)" : ""));
        }
        if (visionHeads < 1) {
            throw new IllegalArgumentException("ClipConfig: visionHeads is 0 (the reference's rule gives 0 for vision width " + visionWidth
                    + ": give vision_heads in a config.json beside the weights)");
        }
        int attnWidth = isResNet() ? visionWidth * 32 : visionWidth;
        if (attnWidth % visionHeads != 0) {
            throw new IllegalArgumentException("ClipConfig: image attention width " + attnWidth + " is not a multiple of visionHeads " + visionHeads);
        }
        if (isVit() && imageResolution % visionPatchSize != 0) {
            throw new IllegalArgumentException("ClipConfig: imageResolution " + imageResolution + " is not a multiple of visionPatchSize " + visionPatchSize);
        }
        if (isResNet() && imageResolution % 32 != 0) {
            throw new IllegalArgumentException("ClipConfig: a ResNet tower needs imageResolution a multiple of 32, got " + imageResolution);
        }
        return this;
    }

    // ---- from a state dict (the reference's build_model) ---------------------------------------

    /**
     * The config of an OpenAI-format state dict, from its key names and shapes only, by the rules of the
     * reference's {@code build_model}: a ViT when "visual.proj" exists (width from conv1, layers = the
     * number of "visual.*.attn.in_proj_weight" keys, patch from conv1's kernel, resolution = patch * grid
     * with grid = sqrt(positions - 1)); otherwise a ModifiedResNet (stage counts = distinct block indices
     * under "visual.layer{1..4}", width from layer1.0.conv1, resolution = 32 * sqrt(attnpool positions - 1));
     * text sizes from text_projection, positional_embedding, token_embedding, ln_final; heads = width / 64.
     */
    public static ClipConfig fromStateDictShapes(Map<String, int[]> shapes) {
        int embed = need(shapes, "text_projection", 2)[1];
        int ctx = need(shapes, "positional_embedding", 2)[0];
        int vocab = need(shapes, "token_embedding.weight", 2)[0];
        int tw = need(shapes, "ln_final.weight", 1)[0];
        int tl = countDistinct(shapes, "transformer.resblocks.", 2);
        if (tl == 0) throw new IllegalArgumentException("not an OpenAI-format CLIP state dict: no 'transformer.resblocks.*' keys");
        if (shapes.containsKey("visual.proj")) {
            int[] conv = need(shapes, "visual.conv1.weight", 4);
            int width = conv[0], patch = conv[3];
            int layers = 0;
            for (String k : shapes.keySet()) if (k.startsWith("visual.") && k.endsWith(".attn.in_proj_weight")) layers++;
            int positions = need(shapes, "visual.positional_embedding", 2)[0];
            int grid = (int) Math.round(Math.sqrt(positions - 1));
            return vit(embed, patch * grid, layers, width, patch, ctx, vocab, tw, tw / 64, tl);
        }
        if (!shapes.containsKey("visual.layer1.0.conv1.weight")) {
            throw new IllegalArgumentException("not an OpenAI-format CLIP state dict: neither 'visual.proj' (ViT) nor 'visual.layer1.0.conv1.weight' (ResNet) is present");
        }
        int[] counts = new int[4];
        for (int b = 1; b <= 4; b++) counts[b - 1] = countDistinct(shapes, "visual.layer" + b, 2);
        int width = need(shapes, "visual.layer1.0.conv1.weight", 4)[0];
        int positions = need(shapes, "visual.attnpool.positional_embedding", 2)[0];
        int outputWidth = (int) Math.round(Math.sqrt(positions - 1));
        if (outputWidth * outputWidth + 1 != positions) {
            throw new IllegalArgumentException("visual.attnpool.positional_embedding has " + positions + " positions, not a square grid plus one");
        }
        return resnet(embed, outputWidth * 32, counts, width, ctx, vocab, tw, tw / 64, tl);
    }

    private static int[] need(Map<String, int[]> shapes, String key, int rank) {
        int[] s = shapes.get(key);
        if (s == null) throw new IllegalArgumentException("not an OpenAI-format CLIP state dict: no '" + key + "'");
        if (s.length != rank) throw new IllegalArgumentException("'" + key + "' has shape " + Arrays.toString(s) + ", expected rank " + rank);
        return s;
    }

    /** The number of distinct values of the dotted field {@code field} among keys starting with {@code prefix}, as the reference counts blocks. */
    private static int countDistinct(Map<String, int[]> shapes, String prefix, int field) {
        TreeSet<String> seen = new TreeSet<>();
        for (String k : shapes.keySet()) {
            if (!k.startsWith(prefix)) continue;
            String[] parts = k.split("\\.");
            if (parts.length > field) seen.add(parts[field]);
        }
        return seen.size();
    }

    // ---- from config.json (the reference's constructor arguments) ------------------------------

    /**
     * This config with the fields named in {@code json} replaced: the keys are the reference's
     * constructor arguments (embed_dim, image_resolution, vision_layers (int or list of four),
     * vision_width, vision_patch_size, context_length, vocab_size, transformer_width, transformer_heads,
     * transformer_layers), as the fixtures' config.json files hold them. The image heads follow the
     * reference's rule for the resulting width unless "vision_heads" is given. Unknown keys are refused.
     */
    public ClipConfig overriddenBy(JsonObject json) {
        List<String> known = List.of("embed_dim", "image_resolution", "vision_layers", "vision_width", "vision_patch_size", "vision_heads",
                "context_length", "vocab_size", "transformer_width", "transformer_heads", "transformer_layers");
        for (String k : json.keySet()) {
            if (!known.contains(k)) throw new IllegalArgumentException("config.json: unknown CLIP constructor argument '" + k + "' (known: " + known + ")");
        }
        List<Integer> vl = visionLayers;
        if (json.has("vision_layers")) {
            JsonElement e = json.get("vision_layers");
            vl = new ArrayList<>();
            if (e.isJsonArray()) {
                for (JsonElement x : (JsonArray) e) vl.add(x.getAsInt());
            } else {
                vl.add(e.getAsInt());
            }
        }
        boolean resnet = vl.size() == 4;
        int vw = intOr(json, "vision_width", visionWidth);
        int patch = resnet ? 0 : intOr(json, "vision_patch_size", visionPatchSize);
        int vh = json.has("vision_heads") ? json.get("vision_heads").getAsInt()
                : (json.has("vision_width") || json.has("vision_layers") ? referenceVisionHeads(resnet, vw) : visionHeads);
        return new ClipConfig(intOr(json, "embed_dim", embedDim), intOr(json, "image_resolution", imageResolution), vl, vw, patch, vh,
                intOr(json, "context_length", contextLength), intOr(json, "vocab_size", vocabSize),
                intOr(json, "transformer_width", transformerWidth), intOr(json, "transformer_heads", transformerHeads),
                intOr(json, "transformer_layers", transformerLayers), visionActivation, textActivation);
    }

    /** A config from a complete set of the reference's constructor arguments. */
    public static ClipConfig fromConstructorArgs(JsonObject json) {
        List<String> required = List.of("embed_dim", "image_resolution", "vision_layers", "vision_width", "context_length", "vocab_size",
                "transformer_width", "transformer_heads", "transformer_layers");
        for (String k : required) if (!json.has(k)) throw new IllegalArgumentException("config.json: missing CLIP constructor argument '" + k + "'");
        boolean resnet = json.get("vision_layers").isJsonArray();
        if (!resnet && !json.has("vision_patch_size")) throw new IllegalArgumentException("config.json: missing 'vision_patch_size' for a ViT image tower");
        ClipConfig base = resnet
                ? resnet(1, 32, new int[]{1, 1, 1, 1}, 1, 1, 1, 1, 1, 1)
                : vit(1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        return base.overriddenBy(json);
    }

    private static int intOr(JsonObject json, String key, int fallback) {
        return json.has(key) && !json.get(key).isJsonNull() ? json.get(key).getAsInt() : fallback;
    }
}
