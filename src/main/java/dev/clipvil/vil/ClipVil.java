package dev.clipvil.vil;

import dev.clipvil.nn.Init;
import dev.clipvil.nn.Module;
import dev.clipvil.tensor.Tensor;

/**
 * CLIP-ViL_p's VQA model over precomputed CLIP grid features: VisualTokens turns the grid into
 * visual tokens, the single-stream BertModel encodes [text ; visual], and VqaHead scores answers
 * from the pooled [CLS]. Names: "bert.*", "visual_tokens.*", "vqa_head.*".
 */
public final class ClipVil extends Module {
    private final BertModel bert;
    private final VisualTokens visualTokens;
    private final VqaHead vqaHead;

    public ClipVil(BertConfig c, int featureDim, int numAnswers) { this(c, featureDim, numAnswers, Init.global()); }

    public ClipVil(BertConfig c, int featureDim, int numAnswers, Init init) {
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

    public BertModel bert() { return bert; }

    public VisualTokens visualTokens() { return visualTokens; }

    public VqaHead vqaHead() { return vqaHead; }
}
