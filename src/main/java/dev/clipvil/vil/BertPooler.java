package dev.clipvil.vil;

import dev.clipvil.nn.Init;
import dev.clipvil.nn.Linear;
import dev.clipvil.nn.Module;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Views;
import dev.clipvil.tensor.Tensor;

/** BERT's pooler: tanh(dense(h[:, 0])), the [CLS] position. */
public final class BertPooler extends Module {
    private final Linear dense;

    public BertPooler(BertConfig c, Init init) {
        dense = registerModule("dense", BertInit.linear(c.hiddenSize(), c.hiddenSize(), c, init));
    }

    public Tensor forward(Tensor hidden) { return Elementwise.tanh(dense.forward(Views.select(hidden, 1, 0))); }
}
