package dev.clipvil.clip;

import dev.clipvil.nn.Init;
import dev.clipvil.nn.Module;
import dev.clipvil.nn.ModuleList;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.tensor.Tensor;

/** A stack of {@link ResidualAttentionBlock}s, "resblocks.{i}.*" as in OpenAI CLIP. */
public final class Transformer extends Module {
    private final ModuleList<ResidualAttentionBlock> blocks;
    private final int width, layers, heads;

    public Transformer(int width, int layers, int heads, Init init) { this(width, layers, heads, Activation.QUICK_GELU, init); }

    public Transformer(int width, int layers, int heads, Activation activation, Init init) {
        this.width = width;
        this.layers = layers;
        this.heads = heads;
        blocks = registerModule("resblocks", new ModuleList<>());
        for (int i = 0; i < layers; i++) blocks.add(new ResidualAttentionBlock(width, heads, activation, init));
    }

    /**
     * x [N, S, width]; mask null or additive [S, S]. Each block's last residual addition is fused
     * with the next block's ln_1 ({@link ResidualAttentionBlock#forwardStream}); the last one is a
     * plain add.
     */
    public Tensor forward(Tensor x, Tensor mask) {
        Tensor stream = x, pending = null;
        for (ResidualAttentionBlock b : blocks) {
            Tensor[] s = b.forwardStream(stream, pending, mask);
            stream = s[0];
            pending = s[1];
        }
        return pending == null ? stream : Elementwise.add(stream, pending);
    }

    /** Sets every block's MLP activation (see {@link Mlp#setActivation}). */
    void setActivation(Activation a) {
        for (ResidualAttentionBlock b : blocks) b.mlp().setActivation(a);
    }

    public ResidualAttentionBlock block(int i) { return blocks.get(i); }

    public int width() { return width; }
    public int layers() { return layers; }
    public int heads() { return heads; }
}
