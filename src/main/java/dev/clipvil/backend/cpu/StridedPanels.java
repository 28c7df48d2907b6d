package dev.clipvil.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A strided F32 matrix as a {@link PanelSource}: element (outer o, reduction p) is
 * {@code data[off + o*outerStride + p*innerStride]}. Any view works in place; the loop order follows
 * whichever stride is 1, so a transposed operand costs no extra copy.
 */
record StridedPanels(float[] data, int off, int outerStride, int innerStride) implements PanelSource {
    private static final VectorSpecies<Float> S = GemmKernelF32.S;
    private static final int L = S.length();
    /** Panels packed together when the outer index is contiguous: one short read of each source row per panel. */
    private static final int GROUP = 16;

    @Override
    public void pack(int o0, int count, int p0, int kc, int w, int ps, float[] dst, int d) {
        int q = 0;
        if (outerStride == 1) {
            // whole panels, a group at a time, each reduction row read left to right
            int full = count / w;
            for (int g = 0; g < full; g += GROUP) {
                int panels = Math.min(GROUP, full - g);
                packOuterContiguous(off + o0 + g * w + p0 * innerStride, panels, kc, w, ps, dst, d + g * ps);
            }
            q = full * w;
        }
        for (; q < count; q += w) {
            int n = Math.min(w, count - q);
            int base = d + (q / w) * ps;
            int src = off + (o0 + q) * outerStride + p0 * innerStride;
            if (innerStride == 1) {
                packInnerContiguous(src, n, kc, w, dst, base);
            } else {
                for (int p = 0; p < kc; p++) {
                    int s = src + p * innerStride, t = base + p * w;
                    for (int i = 0; i < n; i++) dst[t + i] = data[s + i * outerStride];
                    for (int i = n; i < w; i++) dst[t + i] = 0f;
                }
            }
        }
    }

    /**
     * {@code panels} full panels whose reduction steps are each {@code w} consecutive elements: copies,
     * reduction row by reduction row so that each source row is read in one sweep (a column-major
     * source would otherwise touch a new page for every element run).
     */
    private void packOuterContiguous(int src, int panels, int kc, int w, int ps, float[] dst, int base) {
        float[] a = data;
        int rs = innerStride;
        if (w % L == 0) {
            for (int p = 0; p < kc; p++) {
                int s = src + p * rs, t = base + p * w;
                for (int q = 0; q < panels; q++, s += w, t += ps) {
                    for (int i = 0; i < w; i += L) FloatVector.fromArray(S, a, s + i).intoArray(dst, t + i);
                }
            }
        } else {
            for (int p = 0; p < kc; p++) {
                int s = src + p * rs, t = base + p * w;
                for (int q = 0; q < panels; q++, s += w, t += ps) {
                    for (int i = 0; i < w; i++) dst[t + i] = a[s + i];
                }
            }
        }
    }

    /** Each outer row is contiguous along the reduction: a transposing copy, six rows (a full A panel) or four at a time. */
    private void packInnerContiguous(int src, int n, int kc, int w, float[] dst, int base) {
        float[] a = data;
        int os = outerStride;
        int i = 0;
        if (n == 6) {
            int s0 = src, s1 = s0 + os, s2 = s1 + os, s3 = s2 + os, s4 = s3 + os, s5 = s4 + os;
            for (int p = 0, t = base; p < kc; p++, t += w) {
                dst[t] = a[s0 + p];
                dst[t + 1] = a[s1 + p];
                dst[t + 2] = a[s2 + p];
                dst[t + 3] = a[s3 + p];
                dst[t + 4] = a[s4 + p];
                dst[t + 5] = a[s5 + p];
            }
            i = 6;
        }
        for (; i + 4 <= n; i += 4) {
            int s0 = src + i * os, s1 = s0 + os, s2 = s1 + os, s3 = s2 + os;
            int t = base + i;
            for (int p = 0; p < kc; p++, t += w) {
                dst[t] = a[s0 + p];
                dst[t + 1] = a[s1 + p];
                dst[t + 2] = a[s2 + p];
                dst[t + 3] = a[s3 + p];
            }
        }
        for (; i < n; i++) {
            int s = src + i * os, t = base + i;
            for (int p = 0; p < kc; p++, t += w) dst[t] = a[s + p];
        }
        for (; i < w; i++) {
            int t = base + i;
            for (int p = 0; p < kc; p++, t += w) dst[t] = 0f;
        }
    }
}
