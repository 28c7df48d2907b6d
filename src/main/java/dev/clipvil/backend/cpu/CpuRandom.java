package dev.clipvil.backend.cpu;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.HostStorage;
import dev.clipvil.tensor.Tensor;

import java.util.SplittableRandom;

/** Random fills. Deterministic for a seed, whatever the thread count. */
final class CpuRandom {
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
