package dev.clipvil.backend.cpu;

import dev.clipvil.backend.*;
import dev.clipvil.tensor.*;

/** PLACEHOLDER: to be implemented by its owner. */
final class CpuBatchNorm {
    private CpuBatchNorm() {}

    static NormResult train(Tensor x, Tensor w, Tensor b, Tensor rm, Tensor rv, double momentum, double eps) {
        throw new UnsupportedOperationException("CpuBatchNorm not implemented yet");
    }

    static Tensor eval(Tensor x, Tensor w, Tensor b, Tensor rm, Tensor rv, double eps) {
        throw new UnsupportedOperationException("CpuBatchNorm not implemented yet");
    }

    static Tensor[] backward(Tensor gy, Tensor x, Tensor w, Tensor mean, Tensor rstd, boolean training) {
        throw new UnsupportedOperationException("CpuBatchNorm not implemented yet");
    }

}
