package dev.clipvil.data;

import dev.clipvil.tensor.Tensor;

import java.util.SplittableRandom;

/**
 * An embedded image-classification set made on the fly, so that training runs with nothing
 * downloaded: small RGB images with one shape (filled square, ring, plus, cross) of a random colour,
 * size and position on a noisy background. The same seed gives the same images.
 */
public final class SyntheticShapes {
    public static final String[] CLASSES = {"square", "ring", "plus", "cross"};

    private SyntheticShapes() {}

    /** A batch of images [n, 3, size, size] (roughly zero-mean, unit-range) and labels [n] (I64). */
    public record Batch(Tensor images, Tensor labels) implements AutoCloseable {
        @Override
        public void close() {
            images.close();
            labels.close();
        }
    }

    public static Batch generate(int n, int size, long seed) {
        if (size < 8) throw new IllegalArgumentException("synthetic shapes: image size must be at least 8, got " + size);
        SplittableRandom r = new SplittableRandom(seed);
        float[] px = new float[n * 3 * size * size];
        long[] labels = new long[n];
        int plane = size * size;
        for (int i = 0; i < n; i++) {
            int cls = r.nextInt(CLASSES.length);
            labels[i] = cls;
            int base = i * 3 * plane;
            float[] bg = {(float) r.nextDouble(-0.3, 0.3), (float) r.nextDouble(-0.3, 0.3), (float) r.nextDouble(-0.3, 0.3)};
            float[] fg = new float[3];
            for (int c = 0; c < 3; c++) fg[c] = (float) (r.nextBoolean() ? r.nextDouble(0.6, 1.0) : r.nextDouble(-1.0, -0.6));
            int s = r.nextInt(size / 3, size * 2 / 3 + 1) | 1;        // odd side so the shapes have a centre line
            int y0 = r.nextInt(0, size - s + 1), x0 = r.nextInt(0, size - s + 1);
            int mid = s / 2;
            for (int y = 0; y < size; y++) {
                for (int x = 0; x < size; x++) {
                    int u = y - y0, v = x - x0;
                    boolean in = u >= 0 && v >= 0 && u < s && v < s && inside(cls, u, v, s, mid);
                    for (int c = 0; c < 3; c++) {
                        float noise = (float) r.nextDouble(-0.15, 0.15);
                        px[base + c * plane + y * size + x] = (in ? fg[c] : bg[c]) + noise;
                    }
                }
            }
        }
        return new Batch(Tensor.of(px, n, 3, size, size), Tensor.ofLongs(labels, n));
    }

    private static boolean inside(int cls, int u, int v, int s, int mid) {
        switch (cls) {
            case 0: return true;                                                        // filled square
            case 1: return u == 0 || v == 0 || u == s - 1 || v == s - 1;                // ring
            case 2: return Math.abs(u - mid) <= 0 || Math.abs(v - mid) <= 0;            // plus
            default: return u == v || u + v == s - 1;                                   // cross
        }
    }
}
