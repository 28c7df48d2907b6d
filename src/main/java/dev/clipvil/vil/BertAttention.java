package dev.clipvil.vil;

import dev.clipvil.nn.Init;
import dev.clipvil.nn.Module;
import dev.clipvil.tensor.Tensor;

/** BERT's attention sub-layer: "self" (multi-head attention) then "output" (dense, dropout, residual, LayerNorm). */
public final class BertAttention extends Module {
    private final BertSelfAttention self;
    private final BertResidualOutput output;

    public BertAttention(BertConfig c, Init init) {
        self = registerModule("self", new BertSelfAttention(c, init));
        output = registerModule("output", new BertResidualOutput(c.hiddenSize(), c, init));
    }

    public Tensor forward(Tensor x, Tensor mask) { return output.forward(self.forward(x, mask), x); }
}
