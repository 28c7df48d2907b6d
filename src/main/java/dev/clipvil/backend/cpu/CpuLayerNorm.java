package dev.clipvil.backend.cpu;

import dev.clipvil.backend.*;
import dev.clipvil.tensor.*;

/** PLACEHOLDER: to be implemented by its owner. */
final class CpuLayerNorm {
    private CpuLayerNorm() {}

    static NormResult forward(Tensor x, Tensor w, Tensor b, double eps) {
        throw new UnsupportedOperationException("CpuLayerNorm not implemented yet");
    }

    static Tensor[] backward(Tensor gy, Tensor x, Tensor w, Tensor mean, Tensor rstd) {
        throw new UnsupportedOperationException("CpuLayerNorm not implemented yet");
    }

}
