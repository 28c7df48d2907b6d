package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;

/** The dtype codes the kernels take (kernels/common.cuh, DT_*). */
final class DTypes {
    static final int F32 = 0, BF16 = 1, F16 = 2, I32 = 3, I64 = 4, BOOL = 5;

    private DTypes() {}

    static int code(DType t) {
        switch (t) {
            case F32: return F32;
            case BF16: return BF16;
            case F16: return F16;
            case I32: return I32;
            case I64: return I64;
            case BOOL: return BOOL;
            default: throw new DTypeException("cuda: dtype " + t + " is not supported on the GPU (F64 is for CPU gradient checks)");
        }
    }

    /** Floating types the kernels compute with (in F32 registers). */
    static void requireFloat(String op, DType t) {
        if (t != DType.F32 && t != DType.BF16 && t != DType.F16) {
            throw new DTypeException(op + ": cuda computes F32, BF16 and F16 data, got " + t);
        }
    }
}
