package dev.clipvil.backend.cpu;

import dev.clipvil.backend.*;
import dev.clipvil.tensor.*;

/** PLACEHOLDER: to be implemented by its owner. */
final class CpuOptim {
    private CpuOptim() {}

    static void adamw(Tensor p, Tensor g, Tensor m, Tensor v, double lr, double b1, double b2, double eps, double wd, long step) {
        throw new UnsupportedOperationException("CpuOptim not implemented yet");
    }

    static void sgd(Tensor p, Tensor g, Tensor buf, double lr, double momentum, double dampening, double wd, boolean nesterov, boolean first) {
        throw new UnsupportedOperationException("CpuOptim not implemented yet");
    }

}
