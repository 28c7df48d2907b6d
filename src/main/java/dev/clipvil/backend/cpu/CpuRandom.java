package dev.clipvil.backend.cpu;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.HostStorage;
import dev.clipvil.tensor.Tensor;

import java.util.SplittableRandom;

/** Random fills. Deterministic for a seed, whatever the thread count. */
public final class CpuRandom {
    private CpuRandom() {}

    static void fillUniform(Tensor dst, double lo, double hi, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Tensor tmp = Tensor.empty(DType.F64, dst.shape());
        double[] a = tmp.hostStorage().f64();
        for (int i = 0; i < a.length; i++) a[i] = lo + (hi - lo) * r.nextDouble();
        CpuCopy.copy(tmp, dst);
        tmp.close();
    }

    static void fillNormal(Tensor dst, double mean, double std, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Tensor tmp = Tensor.empty(DType.F64, dst.shape());
        double[] a = tmp.hostStorage().f64();
        for (int i = 0; i < a.length; i += 2) {
            // Box-Muller: two normals from two uniforms
            double u1 = 1.0 - r.nextDouble(), u2 = r.nextDouble();
            double rad = Math.sqrt(-2.0 * Math.log(u1));
            a[i] = mean + std * rad * Math.cos(2 * Math.PI * u2);
            if (i + 1 < a.length) a[i + 1] = mean + std * rad * Math.sin(2 * Math.PI * u2);
        }
        CpuCopy.copy(tmp, dst);
        tmp.close();
    }

    /** See {@link dev.clipvil.backend.Backend#randomSubset}; kernels/random.cu random_subset draws the same indices. */
    static Tensor randomSubset(int total, int k, long seed) {
        int[] out = subsetIndices(total, k, seed);
        return Tensor.ofInts(out, out.length);
    }

    /** The indices of {@link #randomSubset} as an array. */
    public static int[] subsetIndices(int total, int k, long seed) {
        requireSubset(total, k);
        long[] keys = new long[total];
        Integer[] order = new Integer[total];
        for (int i = 0; i < total; i++) {
            keys[i] = subsetKey(seed, i);
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> {
            int c = Long.compareUnsigned(keys[a], keys[b]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        int[] out = new int[k];
        for (int j = 0; j < k; j++) out[j] = order[j];
        java.util.Arrays.sort(out);
        return out;
    }

    /** The key of cell {@code i}: SplitMix64's finaliser of seed + golden * (i + 1). */
    static long subsetKey(long seed, int i) {
        long z = seed + 0x9E3779B97F4A7C15L * (i + 1L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The arguments every backend's randomSubset accepts. */
    public static void requireSubset(int total, int k) {
        if (total < 0 || total > dev.clipvil.backend.Backend.MAX_SUBSET || k < 0 || k > total) {
            throw new IllegalArgumentException("random subset: need 0 <= k <= total <= " + dev.clipvil.backend.Backend.MAX_SUBSET
                    + ", got k=" + k + " of total=" + total);
        }
    }

    static Tensor dropoutMask(int[] shape, DType dtype, double p, long seed) {
        if (p < 0 || p >= 1) throw new IllegalArgumentException("dropout: p must be in [0, 1), got " + p);
        Tensor out = Tensor.empty(dtype, shape);
        HostStorage h = out.hostStorage();
        SplittableRandom r = new SplittableRandom(seed);
        double keep = 1.0 / (1.0 - p);
        int n = out.numel();
        if (dtype == DType.F32) {
            float[] a = h.f32();
            for (int i = 0; i < n; i++) a[i] = r.nextDouble() < p ? 0f : (float) keep;
        } else {
            for (int i = 0; i < n; i++) h.setDouble(i, r.nextDouble() < p ? 0 : keep);
        }
        return out;
    }
}
