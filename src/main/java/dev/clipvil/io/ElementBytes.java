package dev.clipvil.io;

import dev.clipvil.tensor.DType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Moves elements between little-endian bytes and the typed arrays of host storages, bit for bit
 * (BF16/F16 as raw 16-bit words, NaN payloads kept).
 */
final class ElementBytes {
    private ElementBytes() {}

    /** Reads {@code n} elements from {@code buf}'s position into {@code array[off..off+n)}, advancing it. */
    static void read(ByteBuffer buf, DType dtype, Object array, int off, int n) {
        ByteBuffer b = buf.slice().order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case F32: b.asFloatBuffer().get((float[]) array, off, n); break;
            case F64: b.asDoubleBuffer().get((double[]) array, off, n); break;
            case BF16: case F16: b.asShortBuffer().get((short[]) array, off, n); break;
            case I32: b.asIntBuffer().get((int[]) array, off, n); break;
            case I64: b.asLongBuffer().get((long[]) array, off, n); break;
            case BOOL: b.get((byte[]) array, off, n); break;
            default: throw new AssertionError(dtype);
        }
        buf.position(buf.position() + n * dtype.byteSize());
    }

    /** Writes {@code array[off..off+n)} at {@code buf}'s position, advancing it. */
    static void write(ByteBuffer buf, DType dtype, Object array, int off, int n) {
        ByteBuffer b = buf.slice().order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case F32: b.asFloatBuffer().put((float[]) array, off, n); break;
            case F64: b.asDoubleBuffer().put((double[]) array, off, n); break;
            case BF16: case F16: b.asShortBuffer().put((short[]) array, off, n); break;
            case I32: b.asIntBuffer().put((int[]) array, off, n); break;
            case I64: b.asLongBuffer().put((long[]) array, off, n); break;
            case BOOL: b.put((byte[]) array, off, n); break;
            default: throw new AssertionError(dtype);
        }
        buf.position(buf.position() + n * dtype.byteSize());
    }

    /** Writes the single element {@code array[i]} to a little-endian {@code buf}. */
    static void writeOne(ByteBuffer buf, DType dtype, Object array, int i) {
        switch (dtype) {
            case F32: buf.putInt(Float.floatToRawIntBits(((float[]) array)[i])); break;
            case F64: buf.putLong(Double.doubleToRawLongBits(((double[]) array)[i])); break;
            case BF16: case F16: buf.putShort(((short[]) array)[i]); break;
            case I32: buf.putInt(((int[]) array)[i]); break;
            case I64: buf.putLong(((long[]) array)[i]); break;
            case BOOL: buf.put(((byte[]) array)[i]); break;
            default: throw new AssertionError(dtype);
        }
    }
}
