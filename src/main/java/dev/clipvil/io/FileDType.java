package dev.clipvil.io;

import dev.clipvil.tensor.DType;

/**
 * Every dtype the safetensors format defines, with its width in bits and the engine dtype it loads
 * into (null when the engine has no such dtype). Knowing all of them lets a file with, say, U8 or
 * F8_E4M3 tensors be validated and inspected even though those tensors cannot be materialised.
 */
enum FileDType {
    BOOL(8, DType.BOOL),
    F4(4, null),
    F6_E2M3(6, null),
    F6_E3M2(6, null),
    U8(8, null),
    I8(8, null),
    F8_E5M2(8, null),
    F8_E4M3(8, null),
    F8_E8M0(8, null),
    I16(16, null),
    U16(16, null),
    F16(16, DType.F16),
    BF16(16, DType.BF16),
    I32(32, DType.I32),
    U32(32, null),
    F32(32, DType.F32),
    C64(64, null),
    F64(64, DType.F64),
    I64(64, DType.I64),
    U64(64, null);

    private final int bits;
    private final DType engine;

    FileDType(int bits, DType engine) {
        this.bits = bits;
        this.engine = engine;
    }

    DType engine() { return engine; }

    /** The file dtype named {@code name} exactly as the format spells it, or null. */
    static FileDType parse(String name) {
        for (FileDType d : values()) if (d.name().equals(name)) return d;
        return null;
    }

    /** Bytes that {@code numel} elements occupy, or -1 when that is not a whole number of bytes. */
    long byteLength(long numel) {
        long bitCount = Math.multiplyExact(numel, (long) bits);
        return bitCount % 8 == 0 ? bitCount / 8 : -1;
    }
}
