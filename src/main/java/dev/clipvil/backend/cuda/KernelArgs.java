package dev.clipvil.backend.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Kernel arguments packed into one reusable direct buffer: each argument gets its own 8-byte-aligned
 * slot holding its value in the kernel's binary layout (little-endian; structs by value), and
 * {@link KernelLaunch} points {@code cuLaunchKernel}'s parameter table at the slots. Nothing is
 * allocated per launch: one instance per thread, {@link #begin()} rewinds it.
 */
public final class KernelArgs {
    static final int CAPACITY = 4096;
    static final int MAX_ARGS = 64;

    private static final ThreadLocal<KernelArgs> PER_THREAD = ThreadLocal.withInitial(KernelArgs::new);

    final ByteBuffer values = ByteBuffer.allocateDirect(CAPACITY).order(ByteOrder.LITTLE_ENDIAN);
    final int[] offsets = new int[MAX_ARGS];
    /** Kind of each slot (see {@link KernelSignature}), checked against the kernel's source on its first launch. */
    final char[] kinds = new char[MAX_ARGS];
    private int count;
    private int end;

    KernelArgs() {}

    /** The calling thread's buffer, emptied. */
    public static KernelArgs begin() {
        KernelArgs a = PER_THREAD.get();
        a.count = 0;
        a.end = 0;
        return a;
    }

    public int count() { return count; }

    /** Byte offset of argument {@code i}'s slot in the value buffer. */
    int offset(int i) { return offsets[i]; }

    /** The kinds of the packed arguments, e.g. "pipig". */
    String kinds() { return new String(kinds, 0, count); }

    private int slot(int size, char kind) {
        if (count == MAX_ARGS) throw new IllegalStateException("more than " + MAX_ARGS + " kernel arguments");
        kinds[count] = kind;
        int at = (end + 7) & ~7;
        if (at + size > CAPACITY) throw new IllegalStateException("kernel arguments exceed " + CAPACITY + " bytes");
        offsets[count++] = at;
        end = at + size;
        return at;
    }

    /** A device pointer ({@code T*}). */
    public KernelArgs ptr(long address) {
        values.putLong(slot(8, 'p'), address);
        return this;
    }

    public KernelArgs i32(int v) {
        values.putInt(slot(4, 'i'), v);
        return this;
    }

    public KernelArgs i64(long v) {
        values.putLong(slot(8, 'l'), v);
        return this;
    }

    public KernelArgs f32(float v) {
        values.putFloat(slot(4, 'f'), v);
        return this;
    }

    public KernelArgs f64(double v) {
        values.putDouble(slot(8, 'd'), v);
        return this;
    }

    /** The {@code Geom} struct of kernels/common.cuh, by value. */
    public KernelArgs geom(Geometry g) {
        int at = slot(Geometry.BYTES, 'g');
        g.writeTo(values, at);
        return this;
    }

    /** The {@code TensorList} struct of kernels/optim.cu, by value. */
    KernelArgs tensorList(TensorList l) {
        int at = slot(TensorList.BYTES, 't');
        l.writeTo(values, at);
        return this;
    }

    /** An int array struct member by value ({@code struct { int v[n]; }}), e.g. a small shape. */
    public KernelArgs ints(int[] v) {
        int at = slot(4 * v.length, 'a');
        for (int i = 0; i < v.length; i++) values.putInt(at + 4 * i, v[i]);
        return this;
    }
}
