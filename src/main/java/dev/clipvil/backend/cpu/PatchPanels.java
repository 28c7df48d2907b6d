package dev.clipvil.backend.cpu;

/**
 * The transposed im2col matrix of one image and group, packed straight from the input: outer index =
 * kernel tap {@code (c*r + i)*s + j}, reduction index = output pixel. This is the B operand of the
 * weight gradient ({@code gW = gy x col^T}), where the reduction runs over pixels.
 *
 * <p>Each tap walks its output pixels row by row; within a row the valid columns are one contiguous
 * range (computed once per tap), so the inner loop has no bounds tests.
 *
 * @param x    a contiguous NCHW input
 * @param base offset of channel 0 of this image and group
 */
record PatchPanels(float[] x, int base, ConvGeometry g) implements PanelSource {

    @Override
    public void pack(int o0, int count, int p0, int kc, int w, int ps, float[] dst, int d) {
        int outW = g.ow(), inH = g.h(), inW = g.w(), taps = g.r() * g.s(), ks = g.s();
        int sh = g.strideH(), sw = g.strideW(), hw = g.hw();
        for (int q = 0; q < count; q += w) {
            int n = Math.min(w, count - q);
            int t0 = d + (q / w) * ps;
            for (int i = 0; i < w; i++) {
                int t = t0 + i;
                if (i >= n) {
                    for (int p = 0; p < kc; p++) dst[t + p * w] = 0f;
                    continue;
                }
                int tap = o0 + q + i;
                int c = tap / taps, rem = tap - c * taps, ki = rem / ks, kj = rem - ki * ks;
                int chan = base + c * hw;
                int rowOff = ki * g.dilH() - g.padH(), colOff = kj * g.dilW() - g.padW();
                int lo = g.owLo(colOff), hi = Math.max(lo, g.owHi(colOff));
                int oh = p0 / outW, ow = p0 - oh * outW;
                for (int p = 0; p < kc; oh++, ow = 0) {
                    int len = Math.min(kc - p, outW - ow);
                    int o = t + p * w;
                    int ih = oh * sh + rowOff;
                    int end = ow + len;
                    if (ih < 0 || ih >= inH) {
                        for (int z = 0; z < len; z++, o += w) dst[o] = 0f;
                    } else {
                        int src = chan + ih * inW + colOff;
                        int a = Math.min(Math.max(ow, lo), end), b = Math.max(a, Math.min(end, hi));
                        int col = ow;
                        for (; col < a; col++, o += w) dst[o] = 0f;
                        if (sw == 1) {
                            for (; col < b; col++, o += w) dst[o] = x[src + col];
                        } else {
                            for (; col < b; col++, o += w) dst[o] = x[src + col * sw];
                        }
                        for (; col < end; col++, o += w) dst[o] = 0f;
                    }
                    p += len;
                }
            }
        }
    }
}
