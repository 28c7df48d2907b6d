package dev.clipvil.vil;

import dev.clipvil.nn.Embedding;
import dev.clipvil.nn.Init;
import dev.clipvil.nn.LayerNorm;
import dev.clipvil.nn.Linear;
import dev.clipvil.nn.Module;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.tensor.Tensor;

/**
 * HF BertForPreTraining's "cls" heads: "predictions" (transform.dense, GELU, transform.LayerNorm, then
 * the decoder tied to the word embeddings plus "predictions.bias") and "seq_relationship" (NSP logits).
 */
public final class BertPreTrainingHeads extends Module {
    private final Predictions predictions;
    private final Linear seqRelationship;

    public BertPreTrainingHeads(BertConfig c, Embedding words, Init init) {
        predictions = registerModule("predictions", new Predictions(c, words, init));
        seqRelationship = registerModule("seq_relationship", BertInit.linear(c.hiddenSize(), 2, c, init));
    }

    /** Masked-LM logits [N, S, vocab] of hidden states [N, S, H]. */
    public Tensor mlmLogits(Tensor hidden) { return predictions.forward(hidden); }

    /** Next-sentence logits [N, 2] of the pooled vector [N, H]. */
    public Tensor nspLogits(Tensor pooled) { return seqRelationship.forward(pooled); }

    /** "predictions": "transform" then logits against the (tied) word embeddings, plus "bias". */
    static final class Predictions extends Module {
        private final Transform transform;
        private final Embedding words;

        Predictions(BertConfig c, Embedding words, Init init) {
            this.words = words;
            transform = registerModule("transform", new Transform(c, init));
            Init.zeros(registerParameter("bias", Init.empty(c.vocabSize())));
        }

        Tensor forward(Tensor hidden) {
            return dev.clipvil.ops.Linear.linear(transform.forward(hidden), words.weight(), param("bias"));
        }
    }

    /** "transform": LayerNorm(gelu(dense(h))). */
    static final class Transform extends Module {
        private final Linear dense;
        private final LayerNorm norm;

        Transform(BertConfig c, Init init) {
            dense = registerModule("dense", BertInit.linear(c.hiddenSize(), c.hiddenSize(), c, init));
            norm = registerModule("LayerNorm", new LayerNorm(c.hiddenSize(), c.layerNormEps()));
        }

        Tensor forward(Tensor h) { return norm.forward(Elementwise.gelu(dense.forward(h))); }
    }
}
