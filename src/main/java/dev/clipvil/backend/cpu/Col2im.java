package dev.clipvil.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * col2im: scatter-adds a column matrix [taps, pixels] (one image and group) back onto the input
 * grid, the adjoint of {@link Im2colPanels}. Used by the input gradient of strided convolutions.
 */
final class Col2im {
    private static final VectorSpecies<Float> S = GemmKernelF32.S;
    private static final int L = S.length();

    private Col2im() {}

    /** {@code gx[base + c*h*w + ih*w + iw] += col[tap*pixels + oh*ow + ow]} for every valid (tap, pixel). */
    static void add(float[] col, ConvGeometry g, float[] gx, int base) {
        int taps = g.taps(), ks = g.s(), kr = g.r(), pixels = g.pixels(), outW = g.ow(), inW = g.w();
        for (int tap = 0; tap < taps; tap++) {
            int c = tap / (kr * ks), rem = tap - c * kr * ks, ki = rem / ks, kj = rem - ki * ks;
            int chan = base + c * g.hw();
            int rowOff = ki * g.dilH() - g.padH(), colOff = kj * g.dilW() - g.padW();
            int lo = g.owLo(colOff), hi = g.owHi(colOff);
            if (lo >= hi) continue;
            for (int oh = 0; oh < g.oh(); oh++) {
                int ih = oh * g.strideH() + rowOff;
                if (ih < 0 || ih >= g.h()) continue;
                int src = tap * pixels + oh * outW;
                int dst = chan + ih * inW + colOff;
                if (g.strideW() == 1) {
                    int ow = lo;
                    for (; ow + L <= hi; ow += L) {
                        FloatVector.fromArray(S, gx, dst + ow).add(FloatVector.fromArray(S, col, src + ow)).intoArray(gx, dst + ow);
                    }
                    for (; ow < hi; ow++) gx[dst + ow] += col[src + ow];
                } else {
                    int sw = g.strideW();
                    for (int ow = lo; ow < hi; ow++) gx[dst + ow * sw] += col[src + ow];
                }
            }
        }
    }
}
