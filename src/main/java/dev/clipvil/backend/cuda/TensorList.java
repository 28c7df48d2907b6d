package dev.clipvil.backend.cuda;

import java.nio.ByteBuffer;

/**
 * The {@code TensorList} struct of kernels/optim.cu, packed by value into a launch's parameters: up to
 * {@link #MAX} contiguous tensors, for each four device addresses (parameter, two state tensors, gradient),
 * two per-tensor scalars and its element count, and the block ranges that split each tensor into
 * chunks of {@link #chunk} elements (one CUDA block per chunk). Pure arithmetic, tested on the CPU.
 */
final class TensorList {
    static final int MAX = 48;
    /** sizeof(TensorList): 4 x 48 addresses, 2 x 48 doubles, 48 + 49 + 2 ints, padded to 8 bytes (2704). */
    static final int BYTES = (8 * 4 * MAX + 8 * 2 * MAX + 4 * MAX + 4 * (MAX + 1) + 4 + 4 + 7) & ~7;

    final long[] p = new long[MAX], a = new long[MAX], b = new long[MAX], g = new long[MAX];
    final double[] s0 = new double[MAX], s1 = new double[MAX];
    final int[] numel = new int[MAX];
    final int[] blockStart = new int[MAX + 1];
    final int chunk;
    int count;

    TensorList(int chunk) {
        if (chunk < 1) throw new IllegalArgumentException("TensorList: chunk must be >= 1, got " + chunk);
        this.chunk = chunk;
    }

    boolean full() { return count == MAX; }

    /** Blocks the launch needs: every tensor's chunks. */
    int blocks() { return blockStart[count]; }

    /** Appends a tensor of {@code n} >= 1 elements. */
    void add(long param, long stateA, long stateB, long grad, int n, double scalar0, double scalar1) {
        if (full()) throw new IllegalStateException("TensorList holds at most " + MAX + " tensors");
        if (n < 1) throw new IllegalArgumentException("TensorList: empty tensor");
        int i = count++;
        p[i] = param;
        a[i] = stateA;
        b[i] = stateB;
        g[i] = grad;
        s0[i] = scalar0;
        s1[i] = scalar1;
        numel[i] = n;
        blockStart[i + 1] = blockStart[i] + (n + chunk - 1) / chunk;
    }

    /** Writes the struct at {@code at} (little-endian), in the field order of the C declaration. */
    void writeTo(ByteBuffer buf, int at) {
        int o = at;
        for (long[] arr : new long[][]{p, a, b, g}) for (long v : arr) { buf.putLong(o, v); o += 8; }
        for (double[] arr : new double[][]{s0, s1}) for (double v : arr) { buf.putDouble(o, v); o += 8; }
        for (int v : numel) { buf.putInt(o, v); o += 4; }
        for (int v : blockStart) { buf.putInt(o, v); o += 4; }
        buf.putInt(o, count);
        buf.putInt(o + 4, chunk);
        for (o += 8; o < at + BYTES; o++) buf.put(o, (byte) 0);
    }
}
