package dev.clipvil.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A matrix whose every reduction row is a contiguous slice of one array at its own offset: element
 * (outer j, reduction p) is {@code data[off[p] + j]}. With a zero-padded input and a stride-1
 * convolution, the im2col row of kernel tap p over output pixels laid out with the padded row width
 * is exactly such a slice, so packing is plain vector copies.
 */
record ShiftedPanels(float[] data, int[] off) implements PanelSource {
    private static final VectorSpecies<Float> S = GemmKernelF32.S;
    private static final int L = S.length();
    /** Panels filled per pass over the reduction rows (bounds the number of write streams). */
    private static final int GROUP = 16;

    @Override
    public void pack(int o0, int count, int p0, int kc, int w, int ps, float[] dst, int d) {
        int full = w % L == 0 ? count / w : 0;
        for (int g = 0; g < full; g += GROUP) {
            int panels = Math.min(GROUP, full - g);
            int src0 = o0 + g * w, t0 = d + g * ps;
            for (int p = 0; p < kc; p++) {
                int s = off[p0 + p] + src0, t = t0 + p * w;
                for (int q = 0; q < panels; q++, s += w, t += ps) {
                    for (int i = 0; i < w; i += L) FloatVector.fromArray(S, data, s + i).intoArray(dst, t + i);
                }
            }
        }
        for (int q = full * w; q < count; q += w) {
            int n = Math.min(w, count - q);
            int t0 = d + (q / w) * ps;
            for (int p = 0; p < kc; p++) {
                int s = off[p0 + p] + o0 + q, t = t0 + p * w;
                for (int i = 0; i < n; i++) dst[t + i] = data[s + i];
                for (int i = n; i < w; i++) dst[t + i] = 0f;
            }
        }
    }
}
