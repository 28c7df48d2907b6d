package dev.clipvil.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The im2col matrix of one image and group, packed straight from the input (implicit GEMM: no column
 * buffer is ever built). Outer index = output pixel {@code oh*ow_ + ow}, reduction index = kernel tap
 * {@code (c*r + i)*s + j}; the element is {@code x[c, oh*sh - ph + i*dh, ow*sw - pw + j*dw]} or 0 in the
 * padding. This is the B operand of the forward pass ({@code y = W x col}).
 *
 * <p>A panel of output pixels is cut into runs that stay on one output row; with stride 1 each run is
 * a contiguous stretch of an input row, copied with vector loads.
 *
 * @param x    a contiguous NCHW input
 * @param base offset of channel 0 of this image and group
 */
record Im2colPanels(float[] x, int base, ConvGeometry g) implements PanelSource {
    private static final VectorSpecies<Float> S = GemmKernelF32.S;
    private static final int L = S.length();

    @Override
    public void pack(int o0, int count, int p0, int kc, int w, float[] dst, int d) {
        int outW = g.ow(), inH = g.h(), inW = g.w(), taps = g.r() * g.s(), ks = g.s(), kr = g.r();
        int sh = g.strideH(), sw = g.strideW(), hw = g.hw();
        // runs of a panel: start lane, length, output row, output column
        int[] runI = new int[w + 1], runLen = new int[w + 1], runOh = new int[w + 1], runOw = new int[w + 1];
        for (int q = 0; q < count; q += w) {
            int n = Math.min(w, count - q);
            int t0 = d + (q / w) * w * kc;
            int runs = 0;
            for (int i = 0, j = o0 + q; i < n; runs++) {
                int oh = j / outW, ow = j - oh * outW;
                int len = Math.min(n - i, outW - ow);
                runI[runs] = i; runLen[runs] = len; runOh[runs] = oh; runOw[runs] = ow;
                i += len;
                j += len;
            }
            int c = p0 / taps, rem = p0 - c * taps, ki = rem / ks, kj = rem - ki * ks;
            for (int p = 0; p < kc; p++) {
                int t = t0 + p * w;
                int chan = base + c * hw;
                int rowOff = ki * g.dilH() - g.padH(), colOff = kj * g.dilW() - g.padW();
                for (int e = 0; e < runs; e++) {
                    int o = t + runI[e], len = runLen[e];
                    int ih = runOh[e] * sh + rowOff;
                    if (ih < 0 || ih >= inH) {
                        for (int z = 0; z < len; z++) dst[o + z] = 0f;
                        continue;
                    }
                    int src = chan + ih * inW;
                    int iw0 = runOw[e] * sw + colOff;
                    if (sw == 1 && iw0 >= 0 && iw0 + len <= inW) {
                        copy(x, src + iw0, dst, o, len);
                    } else {
                        for (int z = 0, iw = iw0; z < len; z++, iw += sw) dst[o + z] = iw >= 0 && iw < inW ? x[src + iw] : 0f;
                    }
                }
                for (int i = n; i < w; i++) dst[t + i] = 0f;
                if (++kj == ks) {
                    kj = 0;
                    if (++ki == kr) {
                        ki = 0;
                        c++;
                    }
                }
            }
        }
    }

    private static void copy(float[] src, int s, float[] dst, int d, int len) {
        int z = 0;
        for (; z + L <= len; z += L) FloatVector.fromArray(S, src, s + z).intoArray(dst, d + z);
        for (; z < len; z++) dst[d + z] = src[s + z];
    }
}
