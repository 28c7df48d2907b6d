package dev.clipvil.tensor;

/**
 * Element types. F32/F64 are compute types on the CPU; BF16 and F16 are storage types (converted with
 * round-to-nearest-even); I32/I64/BOOL hold indices, ids and masks. F64 exists for finite-difference
 * gradient checks.
 */
public enum DType {
    F32(4, "F32", true),
    F64(8, "F64", true),
    BF16(2, "BF16", true),
    F16(2, "F16", true),
    I32(4, "I32", false),
    I64(8, "I64", false),
    BOOL(1, "BOOL", false);

    private final int byteSize;
    private final String safetensorsName;
    private final boolean floating;

    DType(int byteSize, String safetensorsName, boolean floating) {
        this.byteSize = byteSize;
        this.safetensorsName = safetensorsName;
        this.floating = floating;
    }

    public int byteSize() { return byteSize; }

    /** The dtype string used in safetensors headers. */
    public String safetensorsName() { return safetensorsName; }

    public boolean isFloating() { return floating; }

    /** True for dtypes that the CPU backend computes in directly (the others are storage-only). */
    public boolean isComputeFloat() { return this == F32 || this == F64; }

    public static DType fromSafetensorsName(String name) {
        for (DType d : values()) if (d.safetensorsName.equals(name)) return d;
        throw new IllegalArgumentException("unsupported safetensors dtype '" + name + "'");
    }
}
