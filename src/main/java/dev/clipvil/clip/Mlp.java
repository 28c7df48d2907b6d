package dev.clipvil.clip;

import dev.clipvil.nn.Init;
import dev.clipvil.nn.Layer;
import dev.clipvil.nn.Linear;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.tensor.Tensor;

/** CLIP's block MLP: c_fc (d -> 4d), QuickGELU, c_proj (4d -> d), named as in OpenAI's state dicts. */
public final class Mlp extends Layer {
    private final Linear fc, proj;

    public Mlp(int width, int hidden, Init init) {
        fc = registerModule("c_fc", new Linear(width, hidden, true, init));
        proj = registerModule("c_proj", new Linear(hidden, width, true, init));
    }

    @Override
    public Tensor forward(Tensor x) { return proj.forward(Elementwise.quickGelu(fc.forward(x))); }
}
