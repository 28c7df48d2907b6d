package dev.clipvil.vil;

import dev.clipvil.nn.Dropout;
import dev.clipvil.nn.Init;
import dev.clipvil.nn.LayerNorm;
import dev.clipvil.nn.Linear;
import dev.clipvil.nn.Module;
import dev.clipvil.tensor.Tensor;

/**
 * BERT's post-LN sub-layer output (HF BertSelfOutput / BertOutput): LayerNorm(dropout(dense(h)) + residual).
 * Names: "dense", "LayerNorm".
 */
public final class BertResidualOutput extends Module {
    private final Linear dense;
    private final LayerNorm norm;
    private final Dropout dropout;

    public BertResidualOutput(int in, BertConfig c, Init init) {
        dense = registerModule("dense", BertInit.linear(in, c.hiddenSize(), c, init));
        norm = registerModule("LayerNorm", new LayerNorm(c.hiddenSize(), c.layerNormEps()));
        dropout = registerModule("dropout", new Dropout(c.hiddenDropout(), init));
    }

    public Tensor forward(Tensor h, Tensor residual) {
        return norm.forwardAdd(dropout.forward(dense.forward(h)), residual).normed();
    }
}
