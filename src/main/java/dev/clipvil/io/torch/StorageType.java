package dev.clipvil.io.torch;

import dev.clipvil.tensor.DType;

/**
 * The legacy typed storage classes ({@code torch.FloatStorage}, ...) that persistent ids name, with
 * the engine dtype each loads as. Types the engine has no dtype for are known by name (so that the
 * error can say which tensor has which type) but cannot be loaded.
 */
enum StorageType {
    DoubleStorage("float64", DType.F64),
    FloatStorage("float32", DType.F32),
    HalfStorage("float16", DType.F16),
    BFloat16Storage("bfloat16", DType.BF16),
    LongStorage("int64", DType.I64),
    IntStorage("int32", DType.I32),
    BoolStorage("bool", DType.BOOL),
    ShortStorage("int16", null),
    CharStorage("int8", null),
    ByteStorage("uint8", null),
    ComplexFloatStorage("complex64", null),
    ComplexDoubleStorage("complex128", null),
    QInt8Storage("qint8", null),
    QUInt8Storage("quint8", null),
    QInt32Storage("qint32", null),
    QUInt4x2Storage("quint4x2", null),
    QUInt2x4Storage("quint2x4", null),
    UntypedStorage("untyped bytes", null);

    private final String torchDType;
    private final DType dtype;

    StorageType(String torchDType, DType dtype) {
        this.torchDType = torchDType;
        this.dtype = dtype;
    }

    /** The engine dtype, or null when the engine has none. */
    DType dtype() { return dtype; }

    /** PyTorch's name of the element type, e.g. {@code float16}. */
    String torchDType() { return torchDType; }

    /** The qualified class name, e.g. {@code torch.FloatStorage}. */
    String qualifiedName() { return "torch." + name(); }

    /** The storage type called {@code name} in module {@code torch}, or null. */
    static StorageType parse(String name) {
        for (StorageType t : values()) if (t.name().equals(name)) return t;
        return null;
    }

    @Override
    public String toString() { return qualifiedName(); }
}
