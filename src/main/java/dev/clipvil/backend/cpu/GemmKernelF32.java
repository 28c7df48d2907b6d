package dev.clipvil.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register-blocked F32 micro-kernel: an {@link #MR} x {@link #NR} tile of C from an MR-row panel
 * of packed A and an NR-column panel of packed B. Twelve accumulator vectors stay in registers for the
 * whole reduction; each step loads two vectors of B, broadcasts six scalars of A and issues twelve
 * FMAs (AVX2: 15 of the 16 ymm registers).
 */
final class GemmKernelF32 {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    static final int MR = 6;
    static final int NR = 2 * L;

    private GemmKernelF32() {}

    /**
     * {@code C[0..MR, 0..NR) (+)= A_panel * B_panel (+ colBias[j] + rowBias[i])} with C at
     * {@code c[co + i*ldc + j]}. {@code add} accumulates into C instead of overwriting it;
     * the biases may be null.
     */
    static void tile(int kc, float[] a, int ao, float[] b, int bo, float[] c, int co, int ldc, boolean add,
                     float[] colBias, int cbo, float[] rowBias, int rbo) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int p = 0; p < kc; p++) {
            int ap = ao + p * MR, bp = bo + p * NR;
            FloatVector b0 = FloatVector.fromArray(S, b, bp);
            FloatVector b1 = FloatVector.fromArray(S, b, bp + L);
            FloatVector x = FloatVector.broadcast(S, a[ap]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[ap + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[ap + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[ap + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[ap + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[ap + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        if (colBias != null) {
            FloatVector v0 = FloatVector.fromArray(S, colBias, cbo), v1 = FloatVector.fromArray(S, colBias, cbo + L);
            c00 = c00.add(v0); c01 = c01.add(v1);
            c10 = c10.add(v0); c11 = c11.add(v1);
            c20 = c20.add(v0); c21 = c21.add(v1);
            c30 = c30.add(v0); c31 = c31.add(v1);
            c40 = c40.add(v0); c41 = c41.add(v1);
            c50 = c50.add(v0); c51 = c51.add(v1);
        }
        store(c00, c01, c, co, add, rowBias, rbo);
        store(c10, c11, c, co + ldc, add, rowBias, rbo + 1);
        store(c20, c21, c, co + 2 * ldc, add, rowBias, rbo + 2);
        store(c30, c31, c, co + 3 * ldc, add, rowBias, rbo + 3);
        store(c40, c41, c, co + 4 * ldc, add, rowBias, rbo + 4);
        store(c50, c51, c, co + 5 * ldc, add, rowBias, rbo + 5);
    }

    private static void store(FloatVector v0, FloatVector v1, float[] c, int o, boolean add, float[] rowBias, int r) {
        if (rowBias != null) {
            FloatVector rb = FloatVector.broadcast(S, rowBias[r]);
            v0 = v0.add(rb);
            v1 = v1.add(rb);
        }
        if (add) {
            v0 = v0.add(FloatVector.fromArray(S, c, o));
            v1 = v1.add(FloatVector.fromArray(S, c, o + L));
        }
        v0.intoArray(c, o);
        v1.intoArray(c, o + L);
    }
}
