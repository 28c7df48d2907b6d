package dev.clipvil.nn;

import dev.clipvil.ops.Elementwise;
import dev.clipvil.tensor.Tensor;

/** Exact (erf) GELU, as {@code torch.nn.GELU()}. */
public class GELU extends Layer {
    @Override
    public Tensor forward(Tensor x) { return Elementwise.gelu(x); }
}
