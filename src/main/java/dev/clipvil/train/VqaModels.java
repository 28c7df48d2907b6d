package dev.clipvil.train;

import dev.clipvil.clip.Clip;
import dev.clipvil.clip.ClipConfig;
import dev.clipvil.clip.ClipLoader;
import dev.clipvil.clip.ClipPresets;
import dev.clipvil.clip.ImageEncoder;
import dev.clipvil.clip.ImageEncoders;
import dev.clipvil.nn.Init;
import dev.clipvil.nn.Module;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.vil.BertConfig;
import dev.clipvil.vil.ClipVil;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Builds the CLIP-ViL VQA model of a {@link VqaTrainConfig}: the CLIP image tower (a built-in small
 * tower, a CLIP preset with random weights, or a CLIP checkpoint), the fusion BERT (random or from an
 * HF folder's config) and the VQA head. The small towers exist so that the default run trains on a
 * 2-core CPU in minutes; they are CLIP towers of the same classes as ViT-B/32 and RN50, only smaller.
 */
public final class VqaModels {
    /** The built-in towers: random-initialised CLIP image towers sized for 64x64 synthetic images. */
    public static final Map<String, ClipConfig> TOWERS;

    static {
        Map<String, ClipConfig> m = new LinkedHashMap<>();
        // ViT: 64x64 pixels, 8x8 patches (an 8x8 grid of 64-wide tokens), 2 blocks of 2 heads
        m.put("tiny-vit", ClipConfig.vit(64, 64, 2, 64, 8, 77, 49408, 64, 1, 1).withHeads(2, 1));
        // ModifiedResNet: one bottleneck per stage, width 16 (512-channel layer4 grid; 2x2 at 64 px, 4x4 at 128 px)
        m.put("tiny-rn", ClipConfig.resnet(64, 64, new int[]{1, 1, 1, 1}, 16, 77, 49408, 64, 1, 1));
        TOWERS = java.util.Collections.unmodifiableMap(m);
    }

    /** A resolved image tower: its config (saved in run.json), the tower, and where its weights came from. */
    public record Backbone(ClipConfig config, ImageEncoder encoder, String source) {}

    private VqaModels() {}

    /**
     * The tower {@code spec} names: a built-in tower, a CLIP preset (random weights) or a CLIP
     * checkpoint (file or folder; its image tower with the released weights).
     */
    public static Backbone backbone(String spec, Init init) throws IOException {
        checkSpec(spec);
        if (TOWERS.containsKey(spec)) return new Backbone(TOWERS.get(spec), ImageEncoders.create(TOWERS.get(spec), init), spec + " (random init)");
        if (ClipPresets.all().containsKey(spec)) {
            ClipConfig c = ClipPresets.get(spec);
            return new Backbone(c, ImageEncoders.create(c, init), spec + " (random init)");
        }
        Path p = Path.of(spec);
        Clip clip = ClipLoader.load(p);
        // keep the image tower; free the text tower's weights (their storage is ours to release)
        Map<String, Tensor> visual = clip.visual().module().namedParameters();
        java.util.Set<Tensor> keep = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        keep.addAll(visual.values());
        keep.addAll(clip.visual().module().namedBuffers().values());
        for (Tensor t : clip.stateDict().values()) if (!keep.contains(t)) t.close();
        return new Backbone(clip.config(), clip.visual(), p.toAbsolutePath().toString());
    }

    /** Refuses a --clip value that names no tower, preset or existing file, before any data is read. */
    public static void checkSpec(String spec) {
        if (spec == null || TOWERS.containsKey(spec) || ClipPresets.all().containsKey(spec) || Files.exists(Path.of(spec))) return;
        throw new IllegalArgumentException("--clip '" + spec + "' is neither a built-in tower (" + String.join(", ", TOWERS.keySet())
                + "), a CLIP preset (" + String.join(", ", ClipPresets.all().keySet()) + ") nor an existing checkpoint");
    }

    /**
     * The fusion BERT of a run trained from scratch. Its initializer range is BERT-base's 0.02 scaled
     * to the width, 0.02 * sqrt(768 / hidden): with 0.02 at width 128 a token's attention output
     * starts about 6x weaker relative to its own embedding than in BERT-base (the value and output
     * projections each scale it by ~0.02 * sqrt(width)), and the model sits for epochs at the
     * text-only answer prior before it starts to look at the image (measured: no progress in 2
     * epochs on the synthetic set, against 67% after 2 epochs with the scaled range).
     */
    public static BertConfig randomBert(VqaTrainConfig c, int vocabSize) {
        return new BertConfig(vocabSize, c.hidden(), c.layers(), c.heads(), c.intermediate(), Math.max(64, c.maxTextLength()), 2,
                1e-12, c.dropout(), c.dropout(), initializerRange(c.hidden()), 0);
    }

    /** BERT-base's initializer range (0.02 at width 768) scaled as 1 / sqrt(width). */
    public static double initializerRange(int hidden) { return 0.02 * Math.sqrt(768.0 / hidden); }

    /** The full model: {@code backbone} null for a run over precomputed grid features of {@code gridChannels} channels. */
    public static ClipVil build(VqaTrainConfig c, BertConfig bert, ImageEncoder backbone, int gridChannels, int numAnswers, Init init) {
        ClipVil m = backbone == null ? new ClipVil(bert, gridChannels, numAnswers, init) : new ClipVil(bert, backbone, numAnswers, init);
        m.bert().setPoolerTanh(c.poolerTanh());
        m.visualTokens().setSampleTokens(c.sampleTokens());
        m.visualTokens().setGridPool(c.gridPool());
        return m;
    }

    /** The parameters the backbone optimizer owns ("visual.*") and the fusion optimizer owns (the rest), trainable ones only. */
    public static Map<String, Tensor>[] split(Module model) {
        Map<String, Tensor> visual = new LinkedHashMap<>(), fusion = new LinkedHashMap<>();
        for (var e : model.trainableParameters().entrySet()) (e.getKey().startsWith("visual.") ? visual : fusion).put(e.getKey(), e.getValue());
        @SuppressWarnings("unchecked") Map<String, Tensor>[] out = new Map[]{fusion, visual};
        return out;
    }
}
