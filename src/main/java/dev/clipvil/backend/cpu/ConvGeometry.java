package dev.clipvil.backend.cpu;

import dev.clipvil.backend.Conv2dParams;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;

/**
 * The sizes of one NCHW conv2d: input [n, c, h, w], weight [k, c/groups, r, s], output [n, k, oh, ow],
 * with stride, padding and dilation. Input row {@code ih = oh*strideH - padH + i*dilH} for kernel row
 * {@code i} (columns alike); positions outside the input read as zero. {@link #of} validates the shapes
 * and names the op and shapes in its errors.
 */
record ConvGeometry(int n, int c, int h, int w, int k, int r, int s, int oh, int ow, int groups,
                    int strideH, int strideW, int padH, int padW, int dilH, int dilW) {

    static ConvGeometry of(String op, int[] x, int[] weight, Conv2dParams p) {
        if (x.length != 4) throw new ShapeException(op + ": input must be NCHW (rank 4), got " + Shapes.str(x));
        if (weight.length != 4) throw new ShapeException(op + ": weight must be [K, C/groups, R, S] (rank 4), got " + Shapes.str(weight));
        int g = p.groups();
        int c = x[1], k = weight[0];
        if (c % g != 0 || k % g != 0) {
            throw new ShapeException(op + ": groups=" + g + " must divide input channels (input " + Shapes.str(x)
                    + ") and output channels (weight " + Shapes.str(weight) + ")");
        }
        if (weight[1] != c / g) {
            throw new ShapeException(op + ": input " + Shapes.str(x) + " has " + c + " channels, so weight " + Shapes.str(weight)
                    + " needs " + (c / g) + " input channels per group (groups=" + g + "), got " + weight[1]);
        }
        int r = weight[2], s = weight[3];
        int effH = p.dilationH() * (r - 1) + 1, effW = p.dilationW() * (s - 1) + 1;
        int ph = x[2] + 2 * p.padH(), pw = x[3] + 2 * p.padW();
        if (r < 1 || s < 1 || effH > ph || effW > pw) {
            throw new ShapeException(op + ": kernel " + r + "x" + s + " (dilated " + effH + "x" + effW + ") of weight " + Shapes.str(weight)
                    + " does not fit the padded input " + ph + "x" + pw + " of " + Shapes.str(x) + " (padding " + p.padH() + "x" + p.padW() + ")");
        }
        return new ConvGeometry(x[0], c, x[2], x[3], k, r, s, p.outH(x[2], r), p.outW(x[3], s), g,
                p.strideH(), p.strideW(), p.padH(), p.padW(), p.dilationH(), p.dilationW());
    }

    int cg() { return c / groups; }
    int kg() { return k / groups; }
    /** Rows of the im2col matrix of one group: (c, i, j) kernel taps. */
    int taps() { return cg() * r * s; }
    int hw() { return h * w; }
    int pixels() { return oh * ow; }

    int[] inputShape() { return new int[]{n, c, h, w}; }
    int[] weightShape() { return new int[]{k, cg(), r, s}; }
    int[] outputShape() { return new int[]{n, k, oh, ow}; }

    /** First output column whose input column {@code ow*strideW + off} is >= 0. */
    int owLo(int off) { return off >= 0 ? 0 : Math.min(ow, (-off + strideW - 1) / strideW); }

    /** One past the last output column whose input column {@code ow*strideW + off} is < w. */
    int owHi(int off) { return w - off <= 0 ? 0 : Math.min(ow, (w - off + strideW - 1) / strideW); }
}
