package dev.clipvil.io;

import dev.clipvil.tensor.DType;

import java.util.Arrays;
import java.util.Optional;

/**
 * One tensor entry of a safetensors header: its name, dtype as the file spells it, shape (64-bit, as
 * the format allows), and its byte range {@code [begin, end)} relative to the start of the data
 * section.
 */
public record TensorInfo(String name, String dtype, long[] shape, long begin, long end) {
    public TensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() { return shape.clone(); }

    public int rank() { return shape.length; }

    public long numel() {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    public long byteLength() { return end - begin; }

    /** The engine dtype this tensor loads as, or empty when the engine has none (U8, F8_E4M3, ...). */
    public Optional<DType> engineDType() {
        FileDType d = FileDType.parse(dtype);
        return d == null ? Optional.empty() : Optional.ofNullable(d.engine());
    }

    /** The shape as {@code [a, b, c]}. */
    public String shapeString() { return Arrays.toString(shape); }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype.equals(t.dtype)
                && Arrays.equals(shape, t.shape) && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() { return (name.hashCode() * 31 + dtype.hashCode()) * 31 + Arrays.hashCode(shape); }

    @Override
    public String toString() {
        return name + " " + dtype + " " + shapeString() + " bytes [" + begin + ", " + end + ")";
    }
}
