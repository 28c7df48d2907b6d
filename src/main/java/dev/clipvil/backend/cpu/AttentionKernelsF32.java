package dev.clipvil.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vectorised F32 inner loops of {@link CpuAttention}. Dot products are laid out so that no
 * horizontal reduction sits in an inner loop: scores of one query against a block of keys use a
 * transposed key tile kt[D][Sk] (lanes run over keys, one broadcast of q[d] per step), and weighted
 * sums of value rows run lanes over the feature dim (one broadcast of p[j] per key).
 */
final class AttentionKernelsF32 {
    private AttentionKernelsF32() {}

    private static final VectorSpecies<Float> F = VecExp.F;
    private static final int L = F.length();

    /** s[j] = mul * sum_d q[qo + d] * t[d * sk + j] for j in [0, n): one query against n keys (or value rows). */
    static void scores(float[] q, int qo, float[] t, int sk, int n, int dim, float mul, float[] s) {
        int j = 0;
        for (; j + 4 * L <= n; j += 4 * L) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int d = 0; d < dim; d++) {
                FloatVector qv = FloatVector.broadcast(F, q[qo + d]);
                int o = d * sk + j;
                a0 = FloatVector.fromArray(F, t, o).fma(qv, a0);
                a1 = FloatVector.fromArray(F, t, o + L).fma(qv, a1);
                a2 = FloatVector.fromArray(F, t, o + 2 * L).fma(qv, a2);
                a3 = FloatVector.fromArray(F, t, o + 3 * L).fma(qv, a3);
            }
            a0.mul(mul).intoArray(s, j);
            a1.mul(mul).intoArray(s, j + L);
            a2.mul(mul).intoArray(s, j + 2 * L);
            a3.mul(mul).intoArray(s, j + 3 * L);
        }
        for (; j + L <= n; j += L) {
            FloatVector a0 = FloatVector.zero(F);
            for (int d = 0; d < dim; d++) a0 = FloatVector.fromArray(F, t, d * sk + j).fma(FloatVector.broadcast(F, q[qo + d]), a0);
            a0.mul(mul).intoArray(s, j);
        }
        for (; j < n; j++) {
            float acc = 0;
            for (int d = 0; d < dim; d++) acc += q[qo + d] * t[d * sk + j];
            s[j] = acc * mul;
        }
    }

    /**
     * out[oo + d] (+)= mul * sum_{j < n} p[po + j] * rows[base + j * rs + d] for d in [0, dim): a
     * weighted sum of rows with unit feature stride, accumulators held in registers across j.
     * With {@code accumulate} the sum is added to out, else it replaces it.
     */
    static void weightedRows(float[] p, int po, int n, float[] rows, int base, int rs, int dim, float mul,
                             float[] out, int oo, boolean accumulate) {
        int d = 0;
        for (; d + 4 * L <= dim; d += 4 * L) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int j = 0; j < n; j++) {
                float pj = p[po + j];
                if (pj == 0f) continue;
                FloatVector pv = FloatVector.broadcast(F, pj);
                int o = base + j * rs + d;
                a0 = FloatVector.fromArray(F, rows, o).fma(pv, a0);
                a1 = FloatVector.fromArray(F, rows, o + L).fma(pv, a1);
                a2 = FloatVector.fromArray(F, rows, o + 2 * L).fma(pv, a2);
                a3 = FloatVector.fromArray(F, rows, o + 3 * L).fma(pv, a3);
            }
            store(a0, mul, out, oo + d, accumulate);
            store(a1, mul, out, oo + d + L, accumulate);
            store(a2, mul, out, oo + d + 2 * L, accumulate);
            store(a3, mul, out, oo + d + 3 * L, accumulate);
        }
        for (; d + L <= dim; d += L) {
            FloatVector a0 = FloatVector.zero(F);
            for (int j = 0; j < n; j++) {
                float pj = p[po + j];
                if (pj != 0f) a0 = FloatVector.fromArray(F, rows, base + j * rs + d).fma(FloatVector.broadcast(F, pj), a0);
            }
            store(a0, mul, out, oo + d, accumulate);
        }
        for (; d < dim; d++) {
            float acc = 0;
            for (int j = 0; j < n; j++) acc += p[po + j] * rows[base + j * rs + d];
            out[oo + d] = accumulate ? out[oo + d] + acc * mul : acc * mul;
        }
    }

    private static void store(FloatVector acc, float mul, float[] out, int o, boolean accumulate) {
        if (accumulate) acc.fma(FloatVector.broadcast(F, mul), FloatVector.fromArray(F, out, o)).intoArray(out, o);
        else acc.mul(mul).intoArray(out, o);
    }

    /** y[yo ..] += a * x[xo ..] over dim elements. */
    static void axpy(float a, float[] x, int xo, float[] y, int yo, int dim) {
        int d = 0;
        if (dim >= L) {
            FloatVector av = FloatVector.broadcast(F, a);
            for (int ub = F.loopBound(dim); d < ub; d += L) {
                FloatVector.fromArray(F, x, xo + d).fma(av, FloatVector.fromArray(F, y, yo + d)).intoArray(y, yo + d);
            }
        }
        for (; d < dim; d++) y[yo + d] += a * x[xo + d];
    }

    /** Max of s[0, n) (-inf when n is 0). */
    static float max(float[] s, int n) {
        float m = Float.NEGATIVE_INFINITY;
        int j = 0;
        if (n >= L) {
            FloatVector vm = FloatVector.fromArray(F, s, 0);
            for (j = L; j + L <= n; j += L) vm = vm.max(FloatVector.fromArray(F, s, j));
            m = vm.reduceLanes(VectorOperators.MAX);
        }
        for (; j < n; j++) m = Math.max(m, s[j]);
        return m;
    }

    /** s[j] = exp(s[j] - shift) for j in [0, n); returns the sum. */
    static float expShift(float[] s, int n, float shift) {
        FloatVector vs = FloatVector.broadcast(F, shift), acc = FloatVector.zero(F);
        int j = 0;
        for (; j + L <= n; j += L) {
            FloatVector e = VecExp.exp(FloatVector.fromArray(F, s, j).sub(vs));
            e.intoArray(s, j);
            acc = acc.add(e);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; j < n; j++) {
            float e = VecExp.exp(s[j] - shift);
            s[j] = e;
            sum += e;
        }
        return sum;
    }

    /** Sum of a[ao + i * as] * b[bo + i * bs] over i in [0, n). */
    static float dot(float[] a, int ao, int as, float[] b, int bo, int bs, int n) {
        if (as == 1 && bs == 1 && n >= L) {
            FloatVector acc = FloatVector.zero(F);
            int i = 0;
            for (int ub = F.loopBound(n); i < ub; i += L) acc = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromArray(F, b, bo + i), acc);
            float s = acc.reduceLanes(VectorOperators.ADD);
            for (; i < n; i++) s += a[ao + i] * b[bo + i];
            return s;
        }
        float s = 0;
        for (int i = 0; i < n; i++) s += a[ao + i * as] * b[bo + i * bs];
        return s;
    }
}
