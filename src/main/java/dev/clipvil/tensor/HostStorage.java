package dev.clipvil.tensor;

/** CPU storage: one Java primitive array, typed by the dtype (BF16 and F16 are kept as raw 16-bit words). */
public final class HostStorage extends Storage {
    private Object array;

    HostStorage(DType dtype, int numel, Object array) {
        super(dtype, numel, Device.CPU);
        this.array = array;
    }

    private Object array() {
        Object a = array;
        if (a == null) throw new IllegalStateException("use of freed " + dtype() + " storage of " + numel() + " elements");
        return a;
    }

    public float[] f32() { check(DType.F32); return (float[]) array(); }
    public double[] f64() { check(DType.F64); return (double[]) array(); }
    /** Raw 16-bit words of a BF16 or F16 storage. */
    public short[] halves() {
        if (dtype() != DType.BF16 && dtype() != DType.F16) throw wrong("BF16 or F16");
        return (short[]) array();
    }
    public int[] i32() { check(DType.I32); return (int[]) array(); }
    public long[] i64() { check(DType.I64); return (long[]) array(); }
    public byte[] bool() { check(DType.BOOL); return (byte[]) array(); }

    /** The backing array, whatever its type. */
    public Object raw() { return array(); }

    private void check(DType want) {
        if (dtype() != want) throw wrong(want.name());
    }

    private IllegalStateException wrong(String want) {
        return new IllegalStateException("storage holds " + dtype() + ", not " + want);
    }

    /** Element {@code i} as a double, whatever the dtype. */
    public double getDouble(int i) {
        Object a = array();
        switch (dtype()) {
            case F32: return ((float[]) a)[i];
            case F64: return ((double[]) a)[i];
            case BF16: return HalfFloats.bf16ToFloat(((short[]) a)[i]);
            case F16: return HalfFloats.f16ToFloat(((short[]) a)[i]);
            case I32: return ((int[]) a)[i];
            case I64: return ((long[]) a)[i];
            case BOOL: return ((byte[]) a)[i];
            default: throw new AssertionError();
        }
    }

    /** Sets element {@code i} from a double, rounding to the dtype (integers truncate, BOOL is v != 0). */
    public void setDouble(int i, double v) {
        Object a = array();
        switch (dtype()) {
            case F32: ((float[]) a)[i] = (float) v; break;
            case F64: ((double[]) a)[i] = v; break;
            case BF16: ((short[]) a)[i] = HalfFloats.floatToBf16((float) v); break;
            case F16: ((short[]) a)[i] = HalfFloats.floatToF16((float) v); break;
            case I32: ((int[]) a)[i] = (int) v; break;
            case I64: ((long[]) a)[i] = (long) v; break;
            case BOOL: ((byte[]) a)[i] = (byte) (v != 0 ? 1 : 0); break;
            default: throw new AssertionError();
        }
    }

    public long getLong(int i) {
        Object a = array();
        switch (dtype()) {
            case I32: return ((int[]) a)[i];
            case I64: return ((long[]) a)[i];
            case BOOL: return ((byte[]) a)[i];
            default: return (long) getDouble(i);
        }
    }

    @Override
    public HostStorage host() { return this; }

    @Override
    protected void free() {
        Object a = array;
        array = null;
        HostMemory.get().recycle(dtype(), numel(), a);
    }
}
