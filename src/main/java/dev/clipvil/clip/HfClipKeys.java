package dev.clipvil.clip;

import dev.clipvil.autograd.GradMode;
import dev.clipvil.ops.Indexing;
import dev.clipvil.ops.Views;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The name table between HF {@code CLIPModel} state dicts and OpenAI's CLIP keys (which {@link Clip}
 * uses). HF splits attention into q/k/v projections ({@code in_proj_weight} here is their rows
 * stacked q, k, v) and stores the projections as Linear weights [embed, width], the transpose of
 * OpenAI's "text_projection" / "visual.proj" [width, embed]. HF's "vision_model.pre_layrnorm" is spelt
 * so in every released checkpoint.
 *
 * <p>Ownership: every value of a result is a new handle the caller closes (outside every memory
 * scope). Renamed and split tensors share the input's storage (no copy); the packed q/k/v and the
 * transposed projections are new tensors. The input map is left as it was. Closing the values of both maps is safe
 * (closing is idempotent). Keys the table does not know are passed through unchanged, so that a
 * strict load names them as unexpected.
 */
public final class HfClipKeys {
    private HfClipKeys() {}

    /** HF key -> OpenAI key for the tensors that are only renamed. */
    private static final Map<String, String> RENAMED = new LinkedHashMap<>();
    /** HF Linear weight -> OpenAI matrix stored transposed. */
    private static final Map<String, String> TRANSPOSED = new LinkedHashMap<>();
    /** Per-block suffixes: HF -> OpenAI. */
    private static final Map<String, String> BLOCK = new LinkedHashMap<>();
    /** Buffers older HF checkpoints carry that are derived (0..n-1), dropped. */
    private static final List<String> DERIVED = List.of("text_model.embeddings.position_ids", "vision_model.embeddings.position_ids");

    private static final Pattern HF_BLOCK = Pattern.compile("(text_model|vision_model)\\.encoder\\.layers\\.(\\d+)\\.(.+)");
    private static final Pattern OPENAI_BLOCK = Pattern.compile("(visual\\.)?transformer\\.resblocks\\.(\\d+)\\.(.+)");
    private static final String[] QKV = {"q_proj", "k_proj", "v_proj"};

    static {
        RENAMED.put("text_model.embeddings.token_embedding.weight", "token_embedding.weight");
        RENAMED.put("text_model.embeddings.position_embedding.weight", "positional_embedding");
        RENAMED.put("text_model.final_layer_norm.weight", "ln_final.weight");
        RENAMED.put("text_model.final_layer_norm.bias", "ln_final.bias");
        RENAMED.put("vision_model.embeddings.class_embedding", "visual.class_embedding");
        RENAMED.put("vision_model.embeddings.patch_embedding.weight", "visual.conv1.weight");
        RENAMED.put("vision_model.embeddings.position_embedding.weight", "visual.positional_embedding");
        RENAMED.put("vision_model.pre_layrnorm.weight", "visual.ln_pre.weight");
        RENAMED.put("vision_model.pre_layrnorm.bias", "visual.ln_pre.bias");
        RENAMED.put("vision_model.post_layernorm.weight", "visual.ln_post.weight");
        RENAMED.put("vision_model.post_layernorm.bias", "visual.ln_post.bias");
        RENAMED.put("logit_scale", "logit_scale");
        TRANSPOSED.put("text_projection.weight", "text_projection");
        TRANSPOSED.put("visual_projection.weight", "visual.proj");
        for (String p : new String[]{"weight", "bias"}) {
            BLOCK.put("self_attn.out_proj." + p, "attn.out_proj." + p);
            BLOCK.put("layer_norm1." + p, "ln_1." + p);
            BLOCK.put("layer_norm2." + p, "ln_2." + p);
            BLOCK.put("mlp.fc1." + p, "mlp.c_fc." + p);
            BLOCK.put("mlp.fc2." + p, "mlp.c_proj." + p);
        }
    }

    /** True when {@code keys} look like an HF CLIPModel state dict (text_model.* / vision_model.*). */
    public static boolean isHf(Iterable<String> keys) {
        for (String k : keys) if (k.startsWith("text_model.") || k.startsWith("vision_model.")) return true;
        return false;
    }

    /** An HF CLIPModel state dict under OpenAI's keys. */
    public static LinkedHashMap<String, Tensor> toOpenAi(Map<String, Tensor> hf) {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        // q/k/v of each block, gathered first: (tower, layer, weight|bias) -> [q, k, v]
        Map<String, Tensor[]> qkv = new LinkedHashMap<>();
        try (MemoryScope scope = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
            for (var e : hf.entrySet()) {
                String k = e.getKey();
                Tensor t = e.getValue();
                if (DERIVED.contains(k)) continue;
                if (RENAMED.containsKey(k)) {
                    out.put(RENAMED.get(k), handle(t));
                } else if (TRANSPOSED.containsKey(k)) {
                    out.put(TRANSPOSED.get(k), transposed(t));
                } else {
                    Matcher m = HF_BLOCK.matcher(k);
                    if (!m.matches()) {
                        out.put(k, handle(t));
                        continue;
                    }
                    String prefix = (m.group(1).equals("text_model") ? "" : "visual.") + "transformer.resblocks." + m.group(2) + ".";
                    String rest = m.group(3);
                    int which = qkvIndex(rest);
                    if (which >= 0) {
                        String kind = rest.endsWith(".weight") ? "weight" : "bias";
                        qkv.computeIfAbsent(prefix + "attn.in_proj_" + kind, x -> new Tensor[3])[which] = t;
                    } else if (BLOCK.containsKey(rest)) {
                        out.put(prefix + BLOCK.get(rest), handle(t));
                    } else {
                        out.put(k, handle(t));
                    }
                }
            }
            for (var e : qkv.entrySet()) {
                Tensor[] parts = e.getValue();
                if (parts[0] != null && parts[1] != null && parts[2] != null) {
                    out.put(e.getKey(), MemoryScope.detach(Indexing.cat(parts, 0)));
                } else {
                    // incomplete: keep what is there under HF names, so the strict load reports it
                    for (int i = 0; i < 3; i++) if (parts[i] != null) out.put(hfName(e.getKey(), i), handle(parts[i]));
                }
            }
        }
        return out;
    }

    /**
     * OpenAI keys back to HF's (q/k/v rows split, projections transposed), for a ViT-tower CLIP state
     * dict or for gradients keyed like one. Keys with no HF counterpart (a ResNet tower) are refused.
     */
    public static LinkedHashMap<String, Tensor> toHf(Map<String, Tensor> openai) {
        Map<String, String> renamedBack = new LinkedHashMap<>(), transposedBack = new LinkedHashMap<>(), blockBack = new LinkedHashMap<>();
        RENAMED.forEach((h, o) -> renamedBack.put(o, h));
        TRANSPOSED.forEach((h, o) -> transposedBack.put(o, h));
        BLOCK.forEach((h, o) -> blockBack.put(o, h));
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        try (MemoryScope scope = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
            for (var e : openai.entrySet()) {
                String k = e.getKey();
                Tensor t = e.getValue();
                if (renamedBack.containsKey(k)) {
                    out.put(renamedBack.get(k), handle(t));
                } else if (transposedBack.containsKey(k)) {
                    out.put(transposedBack.get(k), transposed(t));
                } else {
                    Matcher m = OPENAI_BLOCK.matcher(k);
                    String rest = m.matches() ? m.group(3) : null;
                    if (rest != null && (rest.equals("attn.in_proj_weight") || rest.equals("attn.in_proj_bias"))) {
                        int w = t.shape(0) / 3;
                        for (int i = 0; i < 3; i++) out.put(hfName(k, i), MemoryScope.detach(Views.contiguous(Views.narrow(t, 0, i * w, w))));
                    } else if (rest != null && blockBack.containsKey(rest)) {
                        out.put(hfBlockPrefix(m) + blockBack.get(rest), handle(t));
                    } else {
                        throw new IllegalArgumentException("no HF CLIPModel name for '" + k + "' (HF CLIPModel has a ViT image tower only)");
                    }
                }
            }
        }
        return out;
    }

    private static int qkvIndex(String rest) {
        for (int i = 0; i < 3; i++) if (rest.equals("self_attn." + QKV[i] + ".weight") || rest.equals("self_attn." + QKV[i] + ".bias")) return i;
        return -1;
    }

    /** The HF name of the i-th (q, k, v) part of an OpenAI "...attn.in_proj_{weight,bias}" key. */
    private static String hfName(String inProjKey, int i) {
        Matcher m = OPENAI_BLOCK.matcher(inProjKey);
        if (!m.matches()) throw new IllegalStateException(inProjKey);
        String kind = m.group(3).endsWith("weight") ? "weight" : "bias";
        return hfBlockPrefix(m) + "self_attn." + QKV[i] + "." + kind;
    }

    private static String hfBlockPrefix(Matcher openaiBlock) {
        return (openaiBlock.group(1) == null ? "text_model" : "vision_model") + ".encoder.layers." + openaiBlock.group(2) + ".";
    }

    /** A new handle on t's storage, same layout, taken out of the (method's own) memory scope. */
    private static Tensor handle(Tensor t) { return MemoryScope.detach(t.asStrided(t.shape(), t.strides(), t.offset())); }

    /** A contiguous [b, a] copy of a 2-D [a, b] tensor, taken out of the (method's own) memory scope. */
    private static Tensor transposed(Tensor t) {
        if (t.dim() != 2) throw new ShapeException("a projection must be 2-D, got " + t.describe());
        return MemoryScope.detach(Views.contiguous(Views.transpose(t, 0, 1)));
    }
}
