package dev.clipvil.vil;

import dev.clipvil.nn.Dropout;
import dev.clipvil.nn.Init;
import dev.clipvil.nn.Layer;
import dev.clipvil.nn.Module;
import dev.clipvil.ops.Attention;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Linear;
import dev.clipvil.ops.Softmax;
import dev.clipvil.ops.Views;
import dev.clipvil.tensor.Tensor;

/**
 * BERT multi-head self-attention with separate "query", "key", "value" projections (HF layout);
 * returns the merged heads [N, S, H] before the output projection. In eval mode (or with
 * attention_probs_dropout_prob 0) it runs the fused attention kernel; in training mode it computes
 * softmax(q k^T / sqrt(d) + mask) explicitly so that dropout can be applied to the probabilities, as HF does.
 */
public final class BertSelfAttention extends Module {
    private final dev.clipvil.nn.Linear query, key, value;
    private final Dropout dropout;
    private final int heads, headDim, hidden;

    public BertSelfAttention(BertConfig c, Init init) {
        hidden = c.hiddenSize();
        heads = c.numHeads();
        headDim = c.headDim();
        query = registerModule("query", BertInit.linear(hidden, hidden, c, init));
        key = registerModule("key", BertInit.linear(hidden, hidden, c, init));
        value = registerModule("value", BertInit.linear(hidden, hidden, c, init));
        dropout = registerModule("dropout", new Dropout(c.attentionDropout(), init));
    }

    /** {@code x} [N, S, H]; {@code mask}: null or BOOL [N, 1, 1, S], true where a key may be attended. */
    public Tensor forward(Tensor x, Tensor mask) {
        int n = x.shape(0), s = x.shape(1);
        Tensor q = split(query.forward(x), n, s), k = split(key.forward(x), n, s), v = split(value.forward(x), n, s);
        Tensor o = isTraining() && dropout.p() > 0 ? explicit(q, k, v, mask, dropout)
                : Attention.scaledDotProduct(q, k, v, mask, false, Double.NaN);
        return Views.reshape(Views.permute(o, 0, 2, 1, 3), n, s, hidden);
    }

    /**
     * dropout(softmax(q k^T / sqrt(d), hidden keys at float32's lowest value)) v, for [N, heads, S, d]
     * inputs and a BOOL keep-mask (or null); the fused kernel's result when {@code drop} is the identity.
     */
    static Tensor explicit(Tensor q, Tensor k, Tensor v, Tensor mask, Layer drop) {
        Tensor scores = Elementwise.mul(Linear.matmul(q, Views.transpose(k, 2, 3)), 1.0 / Math.sqrt(q.shape(3)));
        // the fill value is made on the scores' device (no host upload: the step stays capturable in a CUDA graph)
        if (mask != null) scores = Elementwise.where(mask, scores, dev.clipvil.ops.Creation.full(scores.device(), scores.dtype(), -Float.MAX_VALUE));
        return Linear.matmul(drop.forward(Softmax.softmax(scores, 3)), v);
    }

    private Tensor split(Tensor t, int n, int s) {
        return Views.permute(Views.view(t, n, s, heads, headDim), 0, 2, 1, 3);
    }
}
