package dev.clipvil.backend.cpu;

import dev.clipvil.backend.*;
import dev.clipvil.tensor.*;

/** PLACEHOLDER: to be implemented by its owner. */
final class CpuIndex {
    private CpuIndex() {}

    static Tensor indexSelect(Tensor x, int dim, Tensor index) {
        throw new UnsupportedOperationException("CpuIndex not implemented yet");
    }

    static Tensor indexAdd(int[] shape, int dim, Tensor index, Tensor src) {
        throw new UnsupportedOperationException("CpuIndex not implemented yet");
    }

    static Tensor cat(Tensor[] xs, int dim) {
        throw new UnsupportedOperationException("CpuIndex not implemented yet");
    }

}
