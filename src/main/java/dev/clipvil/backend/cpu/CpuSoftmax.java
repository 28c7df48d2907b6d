package dev.clipvil.backend.cpu;

import dev.clipvil.backend.*;
import dev.clipvil.tensor.*;

/** PLACEHOLDER: to be implemented by its owner. */
final class CpuSoftmax {
    private CpuSoftmax() {}

    static Tensor softmax(Tensor x, int dim, boolean log) {
        throw new UnsupportedOperationException("CpuSoftmax not implemented yet");
    }

    static Tensor backward(Tensor y, Tensor gy, int dim, boolean log) {
        throw new UnsupportedOperationException("CpuSoftmax not implemented yet");
    }

}
