package dev.clipvil.clip;

import dev.clipvil.nn.Init;
import dev.clipvil.nn.Layer;
import dev.clipvil.nn.Linear;
import dev.clipvil.tensor.Tensor;

/**
 * CLIP's block MLP: c_fc (d -> hidden), activation (QuickGELU by default), c_proj (hidden -> d),
 * named as in OpenAI's state dicts.
 */
public final class Mlp extends Layer {
    private final Linear fc, proj;
    private Activation activation;

    public Mlp(int width, int hidden, Init init) { this(width, hidden, Activation.QUICK_GELU, init); }

    public Mlp(int width, int hidden, Activation activation, Init init) {
        fc = registerModule("c_fc", new Linear(width, hidden, true, init));
        proj = registerModule("c_proj", new Linear(hidden, width, true, init));
        this.activation = java.util.Objects.requireNonNull(activation, "activation");
    }

    @Override
    public Tensor forward(Tensor x) { return proj.forward(activation.apply(fc.forward(x))); }

    public Activation activation() { return activation; }

    /**
     * Switches the non-linearity (it has no parameters). Needed where a tower is built by a class
     * that does not take the activation yet (the ViT), before loading an HF "gelu" checkpoint.
     */
    void setActivation(Activation a) { this.activation = java.util.Objects.requireNonNull(a, "activation"); }
}
