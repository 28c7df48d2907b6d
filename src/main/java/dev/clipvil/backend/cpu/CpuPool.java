package dev.clipvil.backend.cpu;

import dev.clipvil.backend.*;
import dev.clipvil.tensor.*;

/** PLACEHOLDER: to be implemented by its owner. */
final class CpuPool {
    private CpuPool() {}

    static Tensor avgPool2d(Tensor x, Pool2dParams p) {
        throw new UnsupportedOperationException("CpuPool not implemented yet");
    }

    static Tensor avgPool2dBackward(Tensor gy, int[] inputShape, Pool2dParams p) {
        throw new UnsupportedOperationException("CpuPool not implemented yet");
    }

    static Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW) {
        throw new UnsupportedOperationException("CpuPool not implemented yet");
    }

    static Tensor adaptiveAvgPool2dBackward(Tensor gy, int[] inputShape) {
        throw new UnsupportedOperationException("CpuPool not implemented yet");
    }

}
