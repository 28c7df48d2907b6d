package dev.clipvil.backend;

import dev.clipvil.tensor.Tensor;

/**
 * The residual add fused with the layer norm that follows it: the residual stream {@code sum = x + r},
 * its layer norm {@code out}, and the per-row statistics of {@code sum} that the backward pass needs.
 */
public record AddNormResult(Tensor sum, Tensor out, Tensor mean, Tensor rstd) {}
