package dev.clipvil.vil;

import dev.clipvil.nn.Init;
import dev.clipvil.nn.Module;
import dev.clipvil.tensor.Tensor;

/** One post-LN BERT layer: "attention", then "intermediate" and "output" (feed-forward with residual and LayerNorm). */
public final class BertLayer extends Module {
    private final BertAttention attention;
    private final BertIntermediate intermediate;
    private final BertResidualOutput output;

    public BertLayer(BertConfig c, Init init) {
        attention = registerModule("attention", new BertAttention(c, init));
        intermediate = registerModule("intermediate", new BertIntermediate(c, init));
        output = registerModule("output", new BertResidualOutput(c.intermediateSize(), c, init));
    }

    /** {@code x} [N, S, H]; {@code mask} null or BOOL [N, 1, 1, S] (true = may attend). */
    public Tensor forward(Tensor x, Tensor mask) {
        Tensor a = attention.forward(x, mask);
        return output.forward(intermediate.forward(a), a);
    }
}
