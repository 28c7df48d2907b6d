package dev.clipvil.autograd;

import dev.clipvil.tensor.Tensor;

/**
 * The backward rule of one recorded op: from the gradient of its output and the tensors it saved,
 * the gradient of each input (null where an input needs none).
 */
@FunctionalInterface
public interface BackwardFn {
    Tensor[] apply(Tensor gradOut, Tensor[] saved);
}
