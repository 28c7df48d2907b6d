package dev.clipvil.tensor;

import java.util.Arrays;

/**
 * A handle on a strided window of a {@link Storage}: shape, strides (in elements) and offset. Views
 * are new handles on the same storage and copy nothing. Each handle holds one reference to its storage;
 * {@link #close()} drops it. Handles made inside a {@link MemoryScope} are closed with it.
 *
 * <p>The autograd fields ({@code requiresGrad}, {@code grad}, {@code gradFn}) are plain data here; the
 * autograd package gives them meaning. Differentiable views and ops are in {@code dev.clipvil.ops}.
 */
public final class Tensor implements AutoCloseable {
    private final Storage storage;
    private final int[] shape;
    private final int[] strides;
    private final int offset;
    private final int numel;
    private boolean closed;

    private boolean requiresGrad;
    private Tensor grad;
    private Object gradFn;
    private String name;

    private Tensor(Storage storage, int[] shape, int[] strides, int offset) {
        if (shape.length != strides.length) throw new ShapeException("shape " + Shapes.str(shape) + " and strides " + Shapes.str(strides) + " differ in rank");
        this.storage = storage;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        this.numel = Shapes.numel(shape);
        storage.retain();
        MemoryScope.register(this);
    }

    // ---- creation ---------------------------------------------------------------------------

    /** A new contiguous tensor with uninitialised elements. */
    public static Tensor empty(Device device, DType dtype, int... shape) {
        int[] s = shape.clone();
        Storage st = Storage.allocate(device, dtype, Shapes.numel(s));
        return new Tensor(st, s, Shapes.contiguousStrides(s), 0);
    }

    public static Tensor empty(DType dtype, int... shape) { return empty(Device.CPU, dtype, shape); }

    /** A new handle on {@code storage} with the given layout (no copy). */
    public static Tensor wrap(Storage storage, int[] shape, int[] strides, int offset) {
        checkBounds(storage, shape, strides, offset);
        return new Tensor(storage, shape.clone(), strides.clone(), offset);
    }

    public static Tensor of(float[] data, int... shape) {
        Tensor t = empty(DType.F32, shape);
        checkLength(data.length, t);
        System.arraycopy(data, 0, ((HostStorage) t.storage).f32(), 0, data.length);
        return t;
    }

    public static Tensor of(double[] data, int... shape) {
        Tensor t = empty(DType.F64, shape);
        checkLength(data.length, t);
        System.arraycopy(data, 0, ((HostStorage) t.storage).f64(), 0, data.length);
        return t;
    }

    public static Tensor ofInts(int[] data, int... shape) {
        Tensor t = empty(DType.I32, shape);
        checkLength(data.length, t);
        System.arraycopy(data, 0, ((HostStorage) t.storage).i32(), 0, data.length);
        return t;
    }

    public static Tensor ofLongs(long[] data, int... shape) {
        Tensor t = empty(DType.I64, shape);
        checkLength(data.length, t);
        System.arraycopy(data, 0, ((HostStorage) t.storage).i64(), 0, data.length);
        return t;
    }

    public static Tensor ofBools(boolean[] data, int... shape) {
        Tensor t = empty(DType.BOOL, shape);
        checkLength(data.length, t);
        byte[] b = ((HostStorage) t.storage).bool();
        for (int i = 0; i < data.length; i++) b[i] = (byte) (data[i] ? 1 : 0);
        return t;
    }

    /** A 0-dimensional tensor. */
    public static Tensor scalar(DType dtype, double value) {
        Tensor t = empty(dtype);
        ((HostStorage) t.storage).setDouble(0, value);
        return t;
    }

    private static void checkLength(int n, Tensor t) {
        if (n != t.numel) {
            t.close();
            throw new ShapeException("data of length " + n + " does not fill shape " + Shapes.str(t.shape) + " (" + t.numel + " elements)");
        }
    }

    private static void checkBounds(Storage s, int[] shape, int[] strides, int offset) {
        if (shape.length != strides.length) throw new ShapeException("shape " + Shapes.str(shape) + " and strides " + Shapes.str(strides) + " differ in rank");
        if (Shapes.numel(shape) == 0) return;
        long lo = offset, hi = offset;
        for (int i = 0; i < shape.length; i++) {
            long span = (long) (shape[i] - 1) * strides[i];
            if (span < 0) lo += span; else hi += span;
        }
        if (lo < 0 || hi >= s.numel()) {
            throw new ShapeException("view " + Shapes.str(shape) + " strides " + Shapes.str(strides) + " offset " + offset
                    + " reaches outside a storage of " + s.numel() + " elements");
        }
    }

    // ---- layout -----------------------------------------------------------------------------

    public int[] shape() { return shape.clone(); }
    public int[] strides() { return strides.clone(); }
    public int shape(int d) { return shape[Shapes.dim("size", d, shape.length)]; }
    public int stride(int d) { return strides[Shapes.dim("stride", d, shape.length)]; }
    public int offset() { return offset; }
    public int dim() { return shape.length; }
    public int numel() { return numel; }
    public DType dtype() { return storage.dtype(); }
    public Device device() { return storage.device(); }

    public Storage storage() {
        if (closed) throw new IllegalStateException("use of a closed tensor " + describe());
        return storage;
    }

    /** The host storage of a CPU tensor (fails for other devices). */
    public HostStorage hostStorage() {
        Storage s = storage();
        if (!(s instanceof HostStorage)) throw new IllegalStateException("tensor is on " + device() + ", not the CPU");
        return (HostStorage) s;
    }

    public boolean isContiguous() {
        int acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && strides[i] != acc) return false;
            acc *= shape[i];
        }
        return true;
    }

    /** A new handle on the same storage with another layout (no copy, no autograd). */
    public Tensor asStrided(int[] newShape, int[] newStrides, int newOffset) {
        storage();
        checkBounds(storage, newShape, newStrides, newOffset);
        return new Tensor(storage, newShape.clone(), newStrides.clone(), newOffset);
    }

    /** Storage index of the element at {@code idx}. */
    public int elementOffset(int... idx) {
        if (idx.length != shape.length) throw new ShapeException("index of rank " + idx.length + " into tensor of shape " + Shapes.str(shape));
        int o = offset;
        for (int i = 0; i < idx.length; i++) {
            if (idx[i] < 0 || idx[i] >= shape[i]) throw new ShapeException("index " + Arrays.toString(idx) + " out of bounds for shape " + Shapes.str(shape));
            o += idx[i] * strides[i];
        }
        return o;
    }

    // ---- reading ----------------------------------------------------------------------------

    /** Elements in row-major logical order, converted to float. */
    public float[] toFloatArray() {
        double[] d = toDoubleArray();
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    /** Elements in row-major logical order, converted to double. */
    public double[] toDoubleArray() {
        HostStorage h = storage().host();
        try {
            double[] out = new double[numel];
            if (isContiguous() && h.dtype() == DType.F32) {
                float[] a = h.f32();
                for (int i = 0; i < numel; i++) out[i] = a[offset + i];
                return out;
            }
            int[] idx = new int[shape.length];
            for (int i = 0; i < numel; i++) {
                out[i] = h.getDouble(offsetOf(idx));
                increment(idx);
            }
            return out;
        } finally {
            storage.freeHostCopy(h);
        }
    }

    /** Elements in row-major logical order, as longs (integers and bools exactly). */
    public long[] toLongArray() {
        HostStorage h = storage().host();
        try {
            long[] out = new long[numel];
            int[] idx = new int[shape.length];
            for (int i = 0; i < numel; i++) {
                out[i] = h.getLong(offsetOf(idx));
                increment(idx);
            }
            return out;
        } finally {
            storage.freeHostCopy(h);
        }
    }

    /** The single element of a one-element tensor. */
    public double item() {
        if (numel != 1) throw new ShapeException("item() needs one element, tensor has shape " + Shapes.str(shape));
        return toDoubleArray()[0];
    }

    /** One element, by index. */
    public double get(int... idx) {
        HostStorage h = storage().host();
        try {
            return h.getDouble(elementOffset(idx));
        } finally {
            storage.freeHostCopy(h);
        }
    }

    private int offsetOf(int[] idx) {
        int o = offset;
        for (int i = 0; i < idx.length; i++) o += idx[i] * strides[i];
        return o;
    }

    private void increment(int[] idx) {
        for (int d = idx.length - 1; d >= 0; d--) {
            if (++idx[d] < shape[d]) return;
            idx[d] = 0;
        }
    }

    // ---- autograd data ----------------------------------------------------------------------

    public boolean requiresGrad() { return requiresGrad; }

    /** Marks a leaf as needing a gradient. Returns this. */
    public Tensor requiresGrad(boolean flag) {
        if (flag && !dtype().isFloating()) throw new DTypeException("only floating tensors can require gradients, this one is " + dtype());
        this.requiresGrad = flag;
        return this;
    }

    /** The accumulated gradient of a leaf, or null. */
    public Tensor grad() { return grad; }

    /** Sets the gradient (the previous one, if any, is closed). */
    public void setGrad(Tensor g) {
        if (grad != null && grad != g) grad.close();
        grad = g;
    }

    /** Closes and clears the gradient. */
    public void zeroGrad() { setGrad(null); }

    /** The autograd node that produced this tensor; opaque here. */
    public Object gradFn() { return gradFn; }

    public void setGradFn(Object fn) { this.gradFn = fn; }

    public String name() { return name; }

    public Tensor name(String n) { this.name = n; return this; }

    // ---- lifetime ---------------------------------------------------------------------------

    public boolean isClosed() { return closed; }

    /** Drops this handle's reference to its storage (and its gradient). Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        gradFn = null;
        if (grad != null) {
            Tensor g = grad;
            grad = null;
            g.close();
        }
        storage.release();
    }

    public String describe() {
        return "Tensor" + Shapes.str(shape) + " " + storage.dtype() + " on " + storage.device() + (name != null ? " '" + name + "'" : "");
    }

    @Override
    public String toString() {
        if (closed) return describe() + " (closed)";
        StringBuilder sb = new StringBuilder(describe());
        sb.append(" [");
        int n = Math.min(numel, 8);
        double[] v = n == 0 ? new double[0] : toDoubleArray();
        for (int i = 0; i < n; i++) {
            if (i > 0) sb.append(", ");
            sb.append((float) v[i]);
        }
        if (numel > n) sb.append(", ...");
        return sb.append(']').toString();
    }
}
