package dev.clipvil.nn;

import dev.clipvil.tensor.Tensor;

/** A module with one input and one output, the kind {@link Sequential} chains. */
public abstract class Layer extends Module {
    public abstract Tensor forward(Tensor x);
}
