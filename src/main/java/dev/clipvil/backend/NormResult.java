package dev.clipvil.backend;

import dev.clipvil.tensor.Tensor;

/** A normalisation's output and the statistics its backward pass needs. */
public record NormResult(Tensor out, Tensor mean, Tensor rstd) {}
