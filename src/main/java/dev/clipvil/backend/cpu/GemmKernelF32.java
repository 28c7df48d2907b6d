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
     * {@code C[0..MR, 0..NR) (+)= A_panel * B_panel} with C at {@code c[co + i*ldc + j]}; {@code add}
     * accumulates into C instead of overwriting it. Everything stays in this one method: a vector passed
     * to a call that C2 does not inline is boxed, which costs more than the whole tile.
     */
    static void tile(int kc, float[] a, int ao, float[] b, int bo, float[] c, int co, int ldc, boolean add) {
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
        int o0 = co, o1 = o0 + ldc, o2 = o1 + ldc, o3 = o2 + ldc, o4 = o3 + ldc, o5 = o4 + ldc;
        if (add) {
            c00 = c00.add(FloatVector.fromArray(S, c, o0));
            c01 = c01.add(FloatVector.fromArray(S, c, o0 + L));
            c10 = c10.add(FloatVector.fromArray(S, c, o1));
            c11 = c11.add(FloatVector.fromArray(S, c, o1 + L));
            c20 = c20.add(FloatVector.fromArray(S, c, o2));
            c21 = c21.add(FloatVector.fromArray(S, c, o2 + L));
            c30 = c30.add(FloatVector.fromArray(S, c, o3));
            c31 = c31.add(FloatVector.fromArray(S, c, o3 + L));
            c40 = c40.add(FloatVector.fromArray(S, c, o4));
            c41 = c41.add(FloatVector.fromArray(S, c, o4 + L));
            c50 = c50.add(FloatVector.fromArray(S, c, o5));
            c51 = c51.add(FloatVector.fromArray(S, c, o5 + L));
        }
        c00.intoArray(c, o0);
        c01.intoArray(c, o0 + L);
        c10.intoArray(c, o1);
        c11.intoArray(c, o1 + L);
        c20.intoArray(c, o2);
        c21.intoArray(c, o2 + L);
        c30.intoArray(c, o3);
        c31.intoArray(c, o3 + L);
        c40.intoArray(c, o4);
        c41.intoArray(c, o4 + L);
        c50.intoArray(c, o5);
        c51.intoArray(c, o5 + L);
    }

    /** Adds {@code colBias[cbo + j]} (if not null) and {@code rowBias[rbo + i]} (if not null) to a full tile of C. */
    static void addBias(float[] c, int co, int ldc, float[] colBias, int cbo, float[] rowBias, int rbo) {
        FloatVector v0 = FloatVector.zero(S), v1 = v0;
        if (colBias != null) {
            v0 = FloatVector.fromArray(S, colBias, cbo);
            v1 = FloatVector.fromArray(S, colBias, cbo + L);
        }
        for (int i = 0; i < MR; i++, co += ldc) {
            float r = rowBias == null ? 0f : rowBias[rbo + i];
            v0.add(r).add(FloatVector.fromArray(S, c, co)).intoArray(c, co);
            v1.add(r).add(FloatVector.fromArray(S, c, co + L)).intoArray(c, co + L);
        }
    }
}
