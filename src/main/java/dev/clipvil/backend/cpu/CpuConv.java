package dev.clipvil.backend.cpu;

import dev.clipvil.backend.*;
import dev.clipvil.tensor.*;

/** PLACEHOLDER: to be implemented by its owner. */
final class CpuConv {
    private CpuConv() {}

    static Tensor forward(Tensor x, Tensor w, Tensor bias, Conv2dParams p) {
        throw new UnsupportedOperationException("CpuConv not implemented yet");
    }

    static Tensor backwardInput(Tensor gy, Tensor w, int[] inputShape, Conv2dParams p) {
        throw new UnsupportedOperationException("CpuConv not implemented yet");
    }

    static Tensor backwardWeight(Tensor gy, Tensor x, int[] weightShape, Conv2dParams p) {
        throw new UnsupportedOperationException("CpuConv not implemented yet");
    }

}
