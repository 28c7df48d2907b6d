package dev.clipvil.nn;

import dev.clipvil.tensor.Tensor;

/** Returns its input (a placeholder layer, as {@code torch.nn.Identity}). */
public class Identity extends Layer {
    @Override
    public Tensor forward(Tensor x) { return x; }
}
