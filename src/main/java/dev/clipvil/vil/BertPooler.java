package dev.clipvil.vil;

import dev.clipvil.nn.Init;
import dev.clipvil.nn.Linear;
import dev.clipvil.nn.Module;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Views;
import dev.clipvil.tensor.Tensor;

/**
 * BERT's pooler: tanh(dense(h[:, 0])), the [CLS] position. The tanh can be turned off
 * ({@link #setTanh}), giving dense(h[:, 0]) as the released CLIP-ViL code uses on its VQA path; HF's
 * tanh is the default. The option holds no parameter, so the state dict is the same either way.
 */
public final class BertPooler extends Module {
    private final Linear dense;
    private boolean tanh = true;

    public BertPooler(BertConfig c, Init init) {
        dense = registerModule("dense", BertInit.linear(c.hiddenSize(), c.hiddenSize(), c, init));
    }

    public Tensor forward(Tensor hidden) {
        Tensor y = dense.forward(Views.select(hidden, 1, 0));
        return tanh ? Elementwise.tanh(y) : y;
    }

    /** Whether the pooler applies tanh (true: HF BERT; false: the linear [CLS] projection only). Returns this. */
    public BertPooler setTanh(boolean on) {
        tanh = on;
        return this;
    }

    public boolean tanh() { return tanh; }
}
