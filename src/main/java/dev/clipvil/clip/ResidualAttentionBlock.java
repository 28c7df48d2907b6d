package dev.clipvil.clip;

import dev.clipvil.nn.Init;
import dev.clipvil.nn.LayerNorm;
import dev.clipvil.nn.Module;
import dev.clipvil.nn.MultiheadAttention;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.tensor.Tensor;

/**
 * CLIP's pre-LN transformer block: x + attn(ln_1(x)), then + mlp(ln_2(x)) with an MLP of width 4d
 * (QuickGELU unless told otherwise). Parameter names are OpenAI's ("attn.in_proj_weight",
 * "ln_1.weight", "mlp.c_fc.weight", ...). Inputs are batch-first [N, S, d].
 */
public final class ResidualAttentionBlock extends Module {
    private final MultiheadAttention attn;
    private final LayerNorm ln1, ln2;
    private final Mlp mlp;

    public ResidualAttentionBlock(int width, int heads, Init init) { this(width, heads, Activation.QUICK_GELU, init); }

    public ResidualAttentionBlock(int width, int heads, Activation activation, Init init) {
        attn = registerModule("attn", new MultiheadAttention(width, heads, init));
        ln1 = registerModule("ln_1", new LayerNorm(width));
        mlp = registerModule("mlp", new Mlp(width, 4 * width, activation, init));
        ln2 = registerModule("ln_2", new LayerNorm(width));
    }

    /** {@code mask}: null, or an additive [S, S] mask (CLIP's text tower passes the causal one). */
    public Tensor forward(Tensor x, Tensor mask) {
        Tensor h = Elementwise.add(x, attn.forward(ln1.forward(x), mask));
        return Elementwise.add(h, mlp.forward(ln2.forward(h)));
    }

    public MultiheadAttention attn() { return attn; }

    public Mlp mlp() { return mlp; }
}
