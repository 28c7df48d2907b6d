package dev.clipvil.bench;

import dev.clipvil.tensor.Tensor;
import java.util.SplittableRandom;

/**
 * Benchmark inputs. Each array is generated once from a fixed seed, so the clipvil and libtorch runs
 * of a benchmark see exactly the same floats.
 */
final class Data {
    private Data() {}

    /** {@code n} floats uniform in [-1, 1) from {@code seed}. */
    static float[] uniform(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextDouble() * 2 - 1);
        return a;
    }

    /** An engine tensor holding a copy of {@code data}; the caller closes it. */
    static Tensor clip(float[] data, int... shape) { return Tensor.of(data, shape); }

    /** Number of elements of {@code shape}. */
    static int numel(int... shape) {
        long n = 1;
        for (int s : shape) n *= s;
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("shape too large: " + n + " elements");
        return (int) n;
    }

    /** "12800x768" to {12800, 768}. */
    static int[] dims(String s) {
        String[] parts = s.trim().split("x");
        int[] d = new int[parts.length];
        for (int i = 0; i < parts.length; i++) d[i] = Integer.parseInt(parts[i].trim());
        return d;
    }
}
