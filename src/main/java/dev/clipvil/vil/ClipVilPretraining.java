package dev.clipvil.vil;

import dev.clipvil.nn.Init;
import dev.clipvil.nn.Linear;
import dev.clipvil.nn.Module;
import dev.clipvil.ops.Losses;
import dev.clipvil.ops.Reduction;
import dev.clipvil.ops.Views;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Path;

/**
 * CLIP-ViL_p's pre-training model (LXMERT-style tasks on the single-stream encoder): the
 * {@link ClipVil} trunk ("bert", "visual_tokens") with BERT's pre-training heads "cls" (masked-LM
 * over the text positions, its decoder tied to the word embeddings; "cls.seq_relationship" is kept
 * only so that bert-base-uncased's "cls.*" keys load strictly) and an image-text matching classifier
 * "itm_head" = Linear(H, 2) over the pooled output (class 1 = matched, 0 = mismatched). The "bert.*"
 * and "visual_tokens.*" names are ClipVil's, so {@link #copyTrunkInto} hands the pre-trained trunk to
 * a VQA model.
 */
public final class ClipVilPretraining extends Module {
    /** MLM logits [N, T, vocab] (text positions only) and ITM logits [N, 2]. */
    public record Output(Tensor mlmLogits, Tensor itmLogits) {}

    private final BertModel bert;
    private final VisualTokens visualTokens;
    private final BertPreTrainingHeads cls;
    private final Linear itmHead;

    public ClipVilPretraining(BertConfig c, int featureDim) { this(c, featureDim, Init.global()); }

    public ClipVilPretraining(BertConfig c, int featureDim, Init init) {
        bert = registerModule("bert", new BertModel(c, init));
        visualTokens = registerModule("visual_tokens", new VisualTokens(featureDim, c.hiddenSize(), c.layerNormEps(),
                c.hiddenDropout(), c.initializerRange(), init));
        cls = registerModule("cls", new BertPreTrainingHeads(c, bert.embeddings().wordEmbeddings(), init));
        itmHead = registerModule("itm_head", BertInit.linear(c.hiddenSize(), 2, c, init));
    }

    /**
     * A model whose "bert.*" (and, when the checkpoint has them, "cls.*") weights come from the HF
     * BERT folder {@code dir} (its config.json gives the sizes); visual tokens and the ITM head are
     * freshly initialised from {@code init}. Returned in training mode.
     */
    public static ClipVilPretraining fromBert(Path dir, int featureDim, Init init) throws IOException {
        ClipVilPretraining m = new ClipVilPretraining(BertLoader.config(dir), featureDim, init);
        try {
            BertLoader.loadWeights(dir, m.bert, m.cls);
        } catch (IOException | RuntimeException e) {
            m.close();
            throw e;
        }
        return m;
    }

    /**
     * {@code inputIds} [N, T] (masked text); {@code tokenTypeIds} [N, T] or null; {@code attentionMask}
     * [N, T] or null; {@code grid} [N, C, h, w] (for ITM, some rows replaced by another sample's, see
     * {@link ItmPairs}).
     */
    public Output forward(Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask, Tensor grid) {
        return forwardTokens(inputIds, tokenTypeIds, attentionMask, visualTokens.forward(grid));
    }

    /** As {@link #forward} with the visual tokens [N, V, H] already made (or null: text only). */
    public Output forwardTokens(Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask, Tensor visual) {
        BertOutput o = bert.forward(inputIds, tokenTypeIds, attentionMask, visual);
        Tensor text = Views.narrow(o.lastHiddenState(), 1, 0, inputIds.shape(1));
        return new Output(cls.mlmLogits(text), itmHead.forward(o.pooled()));
    }

    /**
     * Masked-LM cross-entropy: {@code logits} [N, T, vocab] against {@code labels} [N, T] (I32/I64; the
     * original id at masked positions, -100 elsewhere), averaged over the labelled positions. A batch
     * with no labelled position gives 0 (with zero gradients) rather than PyTorch's NaN, so that it
     * cannot poison a training run.
     */
    public static Tensor mlmLoss(Tensor logits, Tensor labels) {
        if (logits.dim() != 3 || labels.dim() != 2 || labels.shape(0) != logits.shape(0) || labels.shape(1) != logits.shape(1)) {
            throw new ShapeException("ClipVilPretraining.mlmLoss: logits " + Shapes.str(logits.shape()) + " and labels "
                    + Shapes.str(labels.shape()) + " must be [N, T, vocab] and [N, T]");
        }
        requireIds("mlmLoss: labels", labels);
        boolean any = false;
        for (long v : labels.toLongArray()) any |= v != Losses.IGNORE_INDEX;
        int n = logits.shape(0) * logits.shape(1);
        return Losses.crossEntropy(Views.reshape(logits, n, logits.shape(2)), Views.reshape(labels, n), Losses.IGNORE_INDEX,
                any ? Reduction.MEAN : Reduction.SUM);
    }

    /** Image-text matching cross-entropy: {@code logits} [N, 2] against {@code matched} [N] (1 matched, 0 mismatched), mean over N. */
    public static Tensor itmLoss(Tensor logits, Tensor matched) {
        if (logits.dim() != 2 || logits.shape(1) != 2 || matched.dim() != 1 || matched.shape(0) != logits.shape(0)) {
            throw new ShapeException("ClipVilPretraining.itmLoss: logits " + Shapes.str(logits.shape()) + " and labels "
                    + Shapes.str(matched.shape()) + " must be [N, 2] and [N]");
        }
        requireIds("itmLoss: labels", matched);
        return Losses.crossEntropy(logits, matched);
    }

    private static void requireIds(String what, Tensor t) {
        if (t.dtype() != DType.I32 && t.dtype() != DType.I64) {
            throw new dev.clipvil.tensor.DTypeException("ClipVilPretraining." + what + " must be I32 or I64, got " + t.dtype());
        }
    }

    /**
     * Copies this model's "bert.*" and "visual_tokens.*" weights into {@code vqa} (same config and
     * feature size, else a StateDictException naming the keys), for fine-tuning on VQA.
     */
    public void copyTrunkInto(ClipVil vqa) {
        vqa.bert().loadStateDict(bert.stateDict());
        vqa.visualTokens().loadStateDict(visualTokens.stateDict());
    }

    public BertModel bert() { return bert; }

    public VisualTokens visualTokens() { return visualTokens; }

    public BertPreTrainingHeads cls() { return cls; }

    public Linear itmHead() { return itmHead; }
}
