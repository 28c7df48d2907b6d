package dev.clipvil.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The im2col matrix of one image and group, packed straight from the input (implicit GEMM: the full
 * column matrix is never built). Outer index = output pixel {@code oh*ow_ + ow}, reduction index =
 * kernel tap {@code (c*r + i)*s + j}; the element is {@code x[c, oh*sh - ph + i*dh, ow*sw - pw + j*dw]},
 * or 0 in the padding. This is the B operand of the forward pass ({@code y = W x col}).
 *
 * <p>For each tap the requested stretch of its im2col row is first assembled in a small per-thread
 * buffer (one copy per output row, a contiguous stretch of an input row when the stride is 1), then
 * dealt out to the panels with vector copies. Both loops are long and branch-free, unlike decoding
 * every panel-sized piece separately.
 *
 * @param x    a contiguous NCHW input
 * @param base offset of channel 0 of this image and group
 */
record Im2colPanels(float[] x, int base, ConvGeometry g) implements PanelSource {
    private static final VectorSpecies<Float> S = GemmKernelF32.S;
    private static final int L = S.length();
    private static final ThreadLocal<float[][]> ROW = ThreadLocal.withInitial(() -> new float[1][0]);

    /** Panels filled together: their row pieces are assembled at once, and each panel is still written in order. */
    private static final int GROUP = 16;

    @Override
    public void pack(int o0, int count, int p0, int kc, int w, int ps, float[] dst, int d) {
        float[][] holder = ROW.get();
        if (holder[0].length < GROUP * w) holder[0] = new float[GROUP * w];
        float[] row = holder[0];
        int taps = g.r() * g.s();
        int panelStride = ps;
        for (int q0 = 0; q0 < count; q0 += GROUP * w) {
            int n = Math.min(GROUP * w, count - q0);
            int padded = (n + w - 1) / w * w;
            for (int i = n; i < padded; i++) row[i] = 0f; // zero lanes of a last, partial panel
            int c = p0 / taps, rem = p0 - c * taps, ki = rem / g.s(), kj = rem - ki * g.s();
            int dq = d + (q0 / w) * panelStride;
            for (int p = 0; p < kc; p++) {
                fillRow(row, o0 + q0, n, c, ki, kj);
                int t = dq + p * w;
                if (w % L == 0) {
                    for (int q = 0; q < padded; q += w, t += panelStride) {
                        for (int i = 0; i < w; i += L) FloatVector.fromArray(S, row, q + i).intoArray(dst, t + i);
                    }
                } else {
                    for (int q = 0; q < padded; q += w, t += panelStride) System.arraycopy(row, q, dst, t, w);
                }
                if (++kj == g.s()) {
                    kj = 0;
                    if (++ki == g.r()) {
                        ki = 0;
                        c++;
                    }
                }
            }
        }
    }

    /** {@code row[j - o0]} = im2col element (pixel j, tap (c, ki, kj)) for j in [o0, o0 + count). */
    private void fillRow(float[] row, int o0, int count, int c, int ki, int kj) {
        int outW = g.ow(), inH = g.h(), inW = g.w(), sw = g.strideW();
        int chan = base + c * g.hw();
        int rowOff = ki * g.dilH() - g.padH(), colOff = kj * g.dilW() - g.padW();
        int lo = g.owLo(colOff), hi = Math.max(lo, g.owHi(colOff));
        int oh = o0 / outW, ow = o0 - oh * outW;
        for (int done = 0; done < count; oh++, ow = 0) {
            int len = Math.min(count - done, outW - ow), end = ow + len;
            int ih = oh * g.strideH() + rowOff;
            int o = done - ow; // row[o + col] is output column col of this output row
            if (ih < 0 || ih >= inH) {
                for (int z = done; z < done + len; z++) row[z] = 0f;
            } else {
                int a = Math.min(Math.max(ow, lo), end), b = Math.max(a, Math.min(end, hi));
                for (int col = ow; col < a; col++) row[o + col] = 0f;
                int src = chan + ih * inW + colOff;
                if (sw == 1) {
                    System.arraycopy(x, src + a, row, o + a, b - a);
                } else {
                    for (int col = a; col < b; col++) row[o + col] = x[src + col * sw];
                }
                for (int col = b; col < end; col++) row[o + col] = 0f;
            }
            done += len;
        }
    }
}
