package dev.clipvil.nn;

import dev.clipvil.ops.Elementwise;
import dev.clipvil.tensor.Tensor;

/** {@code x * sigmoid(1.702 x)}, the GELU approximation OpenAI's CLIP was trained with. */
public class QuickGELU extends Layer {
    @Override
    public Tensor forward(Tensor x) { return Elementwise.quickGelu(x); }
}
