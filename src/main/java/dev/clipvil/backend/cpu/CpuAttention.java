package dev.clipvil.backend.cpu;

import dev.clipvil.backend.*;
import dev.clipvil.tensor.*;

/** PLACEHOLDER: to be implemented by its owner. */
final class CpuAttention {
    private CpuAttention() {}

    static AttentionResult forward(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale) {
        throw new UnsupportedOperationException("CpuAttention not implemented yet");
    }

    static Tensor[] backward(Tensor gOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, Tensor mask, boolean causal, double scale) {
        throw new UnsupportedOperationException("CpuAttention not implemented yet");
    }

}
