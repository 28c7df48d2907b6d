package dev.clipvil.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** Vectorised F32 row sums for the normalisation kernels: float lanes, four accumulators, totals in double. */
final class VecSum {
    private VecSum() {}

    private static final VectorSpecies<Float> F = VecExp.F;
    private static final int L = F.length();

    /** Sum of a[off .. off+n) with four vector accumulators. */
    static double sum(float[] a, int off, int n) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int i = 0;
        for (int ub4 = n - 4 * L; i <= ub4; i += 4 * L) {
            s0 = s0.add(FloatVector.fromArray(F, a, off + i));
            s1 = s1.add(FloatVector.fromArray(F, a, off + i + L));
            s2 = s2.add(FloatVector.fromArray(F, a, off + i + 2 * L));
            s3 = s3.add(FloatVector.fromArray(F, a, off + i + 3 * L));
        }
        for (int ub = F.loopBound(n); i < ub; i += L) s0 = s0.add(FloatVector.fromArray(F, a, off + i));
        double s = (double) s0.add(s1).reduceLanes(VectorOperators.ADD) + s2.add(s3).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += a[off + i];
        return s;
    }

    /** Sum of (a - m)^2 over a[off .. off+n). */
    static double sumSqDev(float[] a, int off, int n, float m) {
        FloatVector vm = FloatVector.broadcast(F, m);
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int i = 0;
        for (int ub4 = n - 4 * L; i <= ub4; i += 4 * L) {
            FloatVector d0 = FloatVector.fromArray(F, a, off + i).sub(vm);
            FloatVector d1 = FloatVector.fromArray(F, a, off + i + L).sub(vm);
            FloatVector d2 = FloatVector.fromArray(F, a, off + i + 2 * L).sub(vm);
            FloatVector d3 = FloatVector.fromArray(F, a, off + i + 3 * L).sub(vm);
            s0 = d0.fma(d0, s0);
            s1 = d1.fma(d1, s1);
            s2 = d2.fma(d2, s2);
            s3 = d3.fma(d3, s3);
        }
        for (int ub = F.loopBound(n); i < ub; i += L) {
            FloatVector d = FloatVector.fromArray(F, a, off + i).sub(vm);
            s0 = d.fma(d, s0);
        }
        double s = (double) s0.add(s1).reduceLanes(VectorOperators.ADD) + s2.add(s3).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            double d = a[off + i] - m;
            s += d * d;
        }
        return s;
    }

    /** Sum of g * (x - m) over n elements of g (from go) and x (from xo). */
    static double dotDev(float[] g, int go, float[] x, int xo, int n, float m) {
        FloatVector vm = FloatVector.broadcast(F, m);
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        int i = 0;
        for (int ub2 = n - 2 * L; i <= ub2; i += 2 * L) {
            s0 = FloatVector.fromArray(F, x, xo + i).sub(vm).fma(FloatVector.fromArray(F, g, go + i), s0);
            s1 = FloatVector.fromArray(F, x, xo + i + L).sub(vm).fma(FloatVector.fromArray(F, g, go + i + L), s1);
        }
        for (int ub = F.loopBound(n); i < ub; i += L) {
            s0 = FloatVector.fromArray(F, x, xo + i).sub(vm).fma(FloatVector.fromArray(F, g, go + i), s0);
        }
        double s = s0.add(s1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += (double) g[go + i] * (x[xo + i] - m);
        return s;
    }
}
