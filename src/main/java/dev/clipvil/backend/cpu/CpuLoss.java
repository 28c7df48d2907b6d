package dev.clipvil.backend.cpu;

import dev.clipvil.backend.*;
import dev.clipvil.tensor.*;

/** PLACEHOLDER: to be implemented by its owner. */
final class CpuLoss {
    private CpuLoss() {}

    static Tensor crossEntropy(Tensor logits, Tensor target, int ignoreIndex) {
        throw new UnsupportedOperationException("CpuLoss not implemented yet");
    }

    static Tensor crossEntropyBackward(Tensor logits, Tensor target, int ignoreIndex, Tensor gLoss) {
        throw new UnsupportedOperationException("CpuLoss not implemented yet");
    }

    static Tensor bceWithLogits(Tensor x, Tensor target) {
        throw new UnsupportedOperationException("CpuLoss not implemented yet");
    }

    static Tensor bceWithLogitsBackward(Tensor x, Tensor target, Tensor g) {
        throw new UnsupportedOperationException("CpuLoss not implemented yet");
    }

}
