package dev.clipvil.vil;

import dev.clipvil.tensor.Tensor;

/** BERT's outputs: the last hidden state [N, S, H] and the pooled [CLS] vector [N, H]. */
public record BertOutput(Tensor lastHiddenState, Tensor pooled) {}
