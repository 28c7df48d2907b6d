package dev.clipvil.vil;

import dev.clipvil.nn.Init;
import dev.clipvil.nn.Linear;
import dev.clipvil.nn.Module;
import dev.clipvil.ops.Attention;
import dev.clipvil.ops.Views;
import dev.clipvil.tensor.Tensor;

/**
 * BERT multi-head self-attention with separate "query", "key", "value" projections (HF layout);
 * returns the merged heads [N, S, H] before the output projection. No attention-probability dropout
 * (the fused attention kernel has none), which matters in training mode only.
 */
public final class BertSelfAttention extends Module {
    private final Linear query, key, value;
    private final int heads, headDim, hidden;

    public BertSelfAttention(BertConfig c, Init init) {
        hidden = c.hiddenSize();
        heads = c.numHeads();
        headDim = c.headDim();
        query = registerModule("query", BertInit.linear(hidden, hidden, c, init));
        key = registerModule("key", BertInit.linear(hidden, hidden, c, init));
        value = registerModule("value", BertInit.linear(hidden, hidden, c, init));
    }

    /** {@code x} [N, S, H]; {@code mask}: null or BOOL [N, 1, 1, S], true where a key may be attended. */
    public Tensor forward(Tensor x, Tensor mask) {
        int n = x.shape(0), s = x.shape(1);
        Tensor o = Attention.scaledDotProduct(split(query.forward(x), n, s), split(key.forward(x), n, s),
                split(value.forward(x), n, s), mask, false, Double.NaN);
        return Views.reshape(Views.permute(o, 0, 2, 1, 3), n, s, hidden);
    }

    private Tensor split(Tensor t, int n, int s) {
        return Views.permute(Views.view(t, n, s, heads, headDim), 0, 2, 1, 3);
    }
}
