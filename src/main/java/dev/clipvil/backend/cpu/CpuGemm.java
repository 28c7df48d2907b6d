package dev.clipvil.backend.cpu;

import dev.clipvil.backend.*;
import dev.clipvil.tensor.*;

/** PLACEHOLDER: to be implemented by its owner. */
final class CpuGemm {
    private CpuGemm() {}

    static Tensor matmul(Tensor a, Tensor b, Tensor bias) {
        throw new UnsupportedOperationException("CpuGemm not implemented yet");
    }

}
