package dev.clipvil.clip;

import dev.clipvil.nn.Init;
import dev.clipvil.nn.LayerNorm;
import dev.clipvil.nn.Module;
import dev.clipvil.nn.MultiheadAttention;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Normalization;
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
        Tensor[] s = forwardStream(x, null, mask);
        return Elementwise.add(s[0], s[1]);
    }

    /**
     * The block on a residual stream whose last addition is still pending: the block's input is
     * {@code x + pending} ({@code x} alone when pending is null). Returns {stream, delta}: the output is
     * {@code stream + delta}, left unadded so that the next block can fuse that addition with its
     * ln_1 ({@link LayerNorm#forwardAdd}). Both residual additions of a block then run fused with
     * the layer norm that reads them; {@link Transformer} chains blocks this way.
     */
    Tensor[] forwardStream(Tensor x, Tensor pending, Tensor mask) {
        Tensor stream, h;
        if (pending == null) {
            stream = x;
            h = ln1.forward(x);
        } else {
            Normalization.AddNorm a = ln1.forwardAdd(x, pending);
            stream = a.sum();
            h = a.normed();
        }
        Normalization.AddNorm b = ln2.forwardAdd(stream, attn.forward(h, mask));
        return new Tensor[]{b.sum(), mlp.forward(b.normed())};
    }

    public MultiheadAttention attn() { return attn; }

    public Mlp mlp() { return mlp; }
}
