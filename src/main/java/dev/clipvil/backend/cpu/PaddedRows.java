package dev.clipvil.backend.cpu;

import java.util.Arrays;

/**
 * The stride-1 convolution on a zero-padded copy of the input. With the input padded to
 * {@code hp x wp} and output pixels indexed {@code oh*wp + ow} (the padded row width, so each output
 * row carries {@code wp - ow_} columns that are computed and dropped), the im2col row of tap
 * (c, i, j) is the contiguous slice of the padded input starting at {@code c*hp*wp + i*dh*wp + j*dw}:
 * the B operand packs with straight vector copies ({@link ShiftedPanels}).
 */
final class PaddedRows {
    private PaddedRows() {}

    /** Worth it when stride is 1 and the dropped columns are at most an eighth of the computed ones. */
    static boolean applies(ConvGeometry g) {
        int wp = g.w() + 2 * g.padW();
        return g.strideH() == 1 && g.strideW() == 1 && (wp - g.ow()) * 8 <= wp;
    }

    static int paddedH(ConvGeometry g) { return g.h() + 2 * g.padH(); }
    static int paddedW(ConvGeometry g) { return g.w() + 2 * g.padW(); }

    /** Length of the padded input of one group: the planes plus the overrun of the last tap's slice. */
    static int paddedLength(ConvGeometry g) { return g.cg() * paddedH(g) * paddedW(g) + (g.s() - 1) * g.dilW(); }

    /** Start of each tap's slice in the padded input. */
    static int[] tapOffsets(ConvGeometry g) {
        int hp = paddedH(g), wp = paddedW(g);
        int[] off = new int[g.taps()];
        for (int c = 0, t = 0; c < g.cg(); c++) {
            for (int i = 0; i < g.r(); i++) {
                for (int j = 0; j < g.s(); j++) off[t++] = c * hp * wp + i * g.dilH() * wp + j * g.dilW();
            }
        }
        return off;
    }

    /** Copies the group's channels at {@code x[xb]} into {@code xp} with zero borders (and a zero tail). */
    static void pad(float[] x, int xb, ConvGeometry g, float[] xp) {
        int hp = paddedH(g), wp = paddedW(g), h = g.h(), w = g.w(), ph = g.padH(), pw = g.padW();
        for (int c = 0; c < g.cg(); c++) {
            int base = c * hp * wp, src = xb + c * g.hw();
            Arrays.fill(xp, base, base + ph * wp, 0f);
            for (int ih = 0; ih < h; ih++) {
                int row = base + (ih + ph) * wp;
                Arrays.fill(xp, row, row + pw, 0f);
                System.arraycopy(x, src + ih * w, xp, row + pw, w);
                Arrays.fill(xp, row + pw + w, row + wp, 0f);
            }
            Arrays.fill(xp, base + (ph + h) * wp, base + hp * wp, 0f);
        }
        int end = g.cg() * hp * wp;
        Arrays.fill(xp, end, paddedLength(g), 0f);
    }

    /** Copies the kept columns of {@code rows} [k][oh*wp] into the contiguous output {@code y[yb]} [k][oh][ow]. */
    static void compact(float[] wide, ConvGeometry g, int k, float[] y, int yb) {
        int wp = paddedW(g), n = g.oh() * wp;
        for (int r = 0; r < k; r++) {
            for (int oh = 0; oh < g.oh(); oh++) {
                System.arraycopy(wide, r * n + oh * wp, y, yb + (r * g.oh() + oh) * g.ow(), g.ow());
            }
        }
    }
}
