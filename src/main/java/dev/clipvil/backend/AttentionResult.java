package dev.clipvil.backend;

import dev.clipvil.tensor.Tensor;

/** Attention output and the per-row log-sum-exp of the scores. */
public record AttentionResult(Tensor out, Tensor lse) {}
