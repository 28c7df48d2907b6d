package dev.clipvil.vil;

import dev.clipvil.nn.Init;
import dev.clipvil.nn.Linear;
import dev.clipvil.nn.Module;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.tensor.Tensor;

/** BERT's feed-forward expansion: exact (erf) GELU of "dense" (H -> intermediate_size). */
public final class BertIntermediate extends Module {
    private final Linear dense;

    public BertIntermediate(BertConfig c, Init init) {
        dense = registerModule("dense", BertInit.linear(c.hiddenSize(), c.intermediateSize(), c, init));
    }

    public Tensor forward(Tensor x) { return Elementwise.gelu(dense.forward(x)); }
}
