package dev.clipvil.vil;

import dev.clipvil.clip.ImageEncoder;
import dev.clipvil.nn.Init;
import dev.clipvil.nn.Module;
import dev.clipvil.ops.Indexing;
import dev.clipvil.tensor.Tensor;

/**
 * CLIP-ViL_p's VQA model: VisualTokens turns CLIP grid features into visual tokens, the single-stream
 * BertModel encodes [text ; visual], and VqaHead scores answers from the pooled [CLS]. The grid comes
 * either precomputed ({@link #forward}) or from a CLIP image tower trained end to end with the rest
 * ({@link #forwardImages}); the tower is registered as "visual", so its keys are OpenAI's "visual.*"
 * and a CLIP checkpoint's image tower maps onto it unchanged. Names: "visual.*" (with a backbone),
 * "bert.*", "visual_tokens.*", "vqa_head.*".
 */
public final class ClipVil extends Module {
    private final ImageEncoder backbone;
    private final BertModel bert;
    private final VisualTokens visualTokens;
    private final VqaHead vqaHead;

    /** A model over precomputed grid features with {@code featureDim} channels. */
    public ClipVil(BertConfig c, int featureDim, int numAnswers) { this(c, featureDim, numAnswers, Init.global()); }

    public ClipVil(BertConfig c, int featureDim, int numAnswers, Init init) { this(c, null, featureDim, numAnswers, init); }

    /** A model that computes its grid features with {@code backbone} (trained with the rest unless frozen). */
    public ClipVil(BertConfig c, ImageEncoder backbone, int numAnswers, Init init) {
        this(c, backbone, backbone.gridChannels(), numAnswers, init);
    }

    private ClipVil(BertConfig c, ImageEncoder backbone, int featureDim, int numAnswers, Init init) {
        this.backbone = backbone;
        if (backbone != null) registerModule("visual", backbone.module());
        bert = registerModule("bert", new BertModel(c, init));
        visualTokens = registerModule("visual_tokens", new VisualTokens(featureDim, c.hiddenSize(), c.layerNormEps(),
                c.hiddenDropout(), c.initializerRange(), init));
        vqaHead = registerModule("vqa_head", new VqaHead(c.hiddenSize(), numAnswers, c.layerNormEps(), c.initializerRange(), init));
    }

    /**
     * {@code inputIds} [N, T]; {@code tokenTypeIds} [N, T] or null; {@code attentionMask} [N, T] or
     * null; {@code grid} [N, C, h, w]. Returns answer logits [N, numAnswers].
     */
    public Tensor forward(Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask, Tensor grid) {
        Tensor visual = visualTokens.forward(grid);
        return vqaHead.forward(bert.forward(inputIds, tokenTypeIds, attentionMask, visual).pooled());
    }

    /**
     * End to end from pixels [M, 3, R, R] of M distinct images: the backbone runs once per image and
     * question i reads image {@code imageOfQuestion[i]} (an integer tensor [N]; null when N = M and
     * question i is about image i), so questions about one picture share one backbone pass.
     */
    public Tensor forwardImages(Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask, Tensor pixels, Tensor imageOfQuestion) {
        if (backbone == null) throw new IllegalStateException("ClipVil: this model has no image backbone; pass grid features to forward");
        Tensor grid = backbone.grid(pixels);
        if (imageOfQuestion != null) grid = Indexing.indexSelect(grid, 0, imageOfQuestion);
        return forward(inputIds, tokenTypeIds, attentionMask, grid);
    }

    /** The image tower, or null for a model over precomputed grid features. */
    public ImageEncoder backbone() { return backbone; }

    public BertModel bert() { return bert; }

    public VisualTokens visualTokens() { return visualTokens; }

    public VqaHead vqaHead() { return vqaHead; }
}
