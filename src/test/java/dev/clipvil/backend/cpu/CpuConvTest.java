package dev.clipvil.backend.cpu;

import dev.clipvil.backend.Conv2dParams;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** conv2d forward and both gradients against a naive direct convolution in double precision. */
class CpuConvTest {
    private static final CpuBackend BE = CpuBackend.get();

    /** Naive reference: forward, input gradient and weight gradient, all from logical values. */
    private record Ref(double[] y, double[] gx, double[] gw) {}

    private static Ref naive(double[] x, int[] xs, double[] w, int[] ws, double[] b, double[] gy, Conv2dParams p) {
        int n = xs[0], c = xs[1], h = xs[2], wd = xs[3], k = ws[0], cg = ws[1], r = ws[2], s = ws[3];
        int oh = p.outH(h, r), ow = p.outW(wd, s), kg = k / p.groups();
        double[] y = new double[n * k * oh * ow], gx = new double[x.length], gw = new double[w.length];
        for (int in = 0; in < n; in++)
            for (int ik = 0; ik < k; ik++)
                for (int y0 = 0; y0 < oh; y0++)
                    for (int x0 = 0; x0 < ow; x0++) {
                        int yi = ((in * k + ik) * oh + y0) * ow + x0;
                        double acc = b == null ? 0 : b[ik];
                        for (int ic = 0; ic < cg; ic++)
                            for (int i = 0; i < r; i++)
                                for (int j = 0; j < s; j++) {
                                    int ih = y0 * p.strideH() - p.padH() + i * p.dilationH();
                                    int iw = x0 * p.strideW() - p.padW() + j * p.dilationW();
                                    if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                                    int xi = ((in * c + (ik / kg) * cg + ic) * h + ih) * wd + iw;
                                    int wi = ((ik * cg + ic) * r + i) * s + j;
                                    acc += x[xi] * w[wi];
                                    gx[xi] += gy[yi] * w[wi];
                                    gw[wi] += gy[yi] * x[xi];
                                }
                        y[yi] = acc;
                    }
        return new Ref(y, gx, gw);
    }

    private static Tensor rand(DType dt, long seed, int... shape) { return CpuGemmTest.rand(dt, seed, shape); }

    private static void close(String what, double[] got, double[] ref, double tol) {
        if (got.length != ref.length) fail(what + ": " + got.length + " elements, expected " + ref.length);
        for (int i = 0; i < ref.length; i++) {
            if (Math.abs(got[i] - ref[i]) > tol * (1 + Math.abs(ref[i]))) {
                fail(what + ": element " + i + " is " + got[i] + ", expected " + ref[i]);
            }
        }
    }

    /** Runs forward and both gradients on x, w (any views) and compares with the naive loops. */
    private static void check(String what, Tensor x, Tensor w, Tensor b, Conv2dParams p) {
        Tensor y = BE.conv2d(x, w, b, p);
        Tensor gy = rand(x.dtype(), 99, y.shape());
        Ref ref = naive(x.toDoubleArray(), x.shape(), w.toDoubleArray(), w.shape(), b == null ? null : b.toDoubleArray(), gy.toDoubleArray(), p);
        double tol = x.dtype() == DType.F32 ? 2e-5 : 1e-12;
        close(what + " forward", y.toDoubleArray(), ref.y(), tol);
        Tensor gx = BE.conv2dBackwardInput(gy, w, x.shape(), p);
        close(what + " backwardInput", gx.toDoubleArray(), ref.gx(), tol);
        Tensor gw = BE.conv2dBackwardWeight(gy, x, w.shape(), p);
        close(what + " backwardWeight", gw.toDoubleArray(), ref.gw(), tol * 4);
        assertArrayEquals(x.shape(), gx.shape());
        assertArrayEquals(w.shape(), gw.shape());
        for (Tensor t : new Tensor[]{y, gy, gx, gw}) t.close();
    }

    private static Conv2dParams params(int sh, int sw, int ph, int pw, int dh, int dw, int groups) {
        return new Conv2dParams(sh, sw, ph, pw, dh, dw, groups);
    }

    @Test
    void parameterCombinations() {
        Object[][] cases = {
                // N, C, H, W, K, R, S, params
                {1, 3, 9, 11, 4, 3, 3, Conv2dParams.of(1, 1)},
                {5, 3, 9, 11, 4, 3, 3, Conv2dParams.of(2, 1)},
                {2, 4, 10, 9, 6, 3, 3, params(1, 1, 2, 2, 2, 2, 1)},
                {3, 4, 8, 8, 6, 3, 3, params(2, 2, 0, 0, 1, 1, 2)},
                {2, 8, 9, 13, 4, 3, 2, params(1, 2, 0, 1, 2, 1, 4)},
                {6, 6, 7, 7, 6, 3, 3, params(1, 1, 1, 1, 1, 1, 6)},      // depthwise
                {2, 5, 6, 7, 3, 1, 1, Conv2dParams.of(1, 0)},            // pointwise (no im2col)
                {2, 5, 6, 7, 3, 1, 1, Conv2dParams.of(2, 0)},
                {1, 3, 23, 21, 8, 7, 7, Conv2dParams.of(2, 3)},          // a stem-like 7x7
                {1, 2, 4, 4, 3, 4, 4, Conv2dParams.of(1, 0)},            // kernel = input: one pixel out
                // wide enough for the padded-row path (stride 1), with dilation, groups, uneven padding
                {2, 4, 6, 20, 6, 3, 3, params(1, 1, 2, 1, 2, 1, 2)},
                {1, 3, 5, 50, 4, 2, 4, params(1, 1, 0, 3, 1, 2, 1)},
                {5, 4, 7, 24, 4, 3, 3, Conv2dParams.of(1, 1)},
                {1, 2, 6, 7, 3, 3, 3, Conv2dParams.of(1, 3)},            // padding beyond the kernel: col2im gradient
        };
        for (DType dt : new DType[]{DType.F32, DType.F64}) {
            int seed = 0;
            for (Object[] cs : cases) {
                Conv2dParams p = (Conv2dParams) cs[7];
                int n = (int) cs[0], c = (int) cs[1], h = (int) cs[2], wd = (int) cs[3], k = (int) cs[4], r = (int) cs[5], s = (int) cs[6];
                Tensor x = rand(dt, ++seed, n, c, h, wd), w = rand(dt, ++seed, k, c / p.groups(), r, s), b = rand(dt, ++seed, k);
                check(dt + " " + p + " x" + Shapes.str(x.shape()) + " w" + Shapes.str(w.shape()), x, w, seed % 2 == 0 ? b : null, p);
            }
        }
    }

    @Test
    void largerThanGemmBlocks() {
        // 64*3*3 = 576 taps > KC and 20*19 pixels: several K blocks and B panels that straddle output rows;
        // N=1 splits each GEMM across threads, N=4 runs images in parallel; stride 1 (padded rows) and 2 (im2col)
        for (int n : new int[]{1, 4}) {
            for (int stride : new int[]{1, 2}) {
                Tensor x = rand(DType.F32, 40 + n, n, 64, 20, 19), w = rand(DType.F32, 41, 13, 64, 3, 3), b = rand(DType.F32, 42, 13);
                check("F32 big N=" + n + " stride " + stride, x, w, b, Conv2dParams.of(stride, 1));
            }
        }
    }

    @Test
    void nonContiguousOperands() {
        for (DType dt : new DType[]{DType.F32, DType.F64}) {
            // x: H and W swapped by a transposed view; w: a narrowed view of a bigger weight
            Tensor base = rand(dt, 50, 2, 4, 9, 7);
            Tensor x = base.asStrided(new int[]{2, 4, 7, 9}, new int[]{4 * 63, 63, 1, 7}, 0);
            Tensor wBig = rand(dt, 51, 6, 5, 3, 3);
            Tensor w = wBig.asStrided(new int[]{5, 4, 3, 3}, new int[]{45, 9, 3, 1}, 9);
            Tensor b = rand(dt, 52, 10).asStrided(new int[]{5}, new int[]{2}, 0);
            check(dt + " views", x, w, b, params(2, 1, 1, 2, 1, 1, 1));
        }
    }

    @Test
    void errorsNameOpAndShapes() {
        Tensor x = rand(DType.F32, 1, 2, 4, 6, 6);
        ShapeException e = assertThrows(ShapeException.class, () -> BE.conv2d(x, rand(DType.F32, 2, 3, 3, 3, 3), null, Conv2dParams.of(1, 1)));
        assertTrue(e.getMessage().contains("conv2d") && e.getMessage().contains("[2, 4, 6, 6]") && e.getMessage().contains("[3, 3, 3, 3]"), e.getMessage());
        e = assertThrows(ShapeException.class, () -> BE.conv2d(x, rand(DType.F32, 3, 3, 2, 3, 3), null, params(1, 1, 1, 1, 1, 1, 2)));
        assertTrue(e.getMessage().contains("groups=2"), e.getMessage());
        e = assertThrows(ShapeException.class, () -> BE.conv2d(x, rand(DType.F32, 4, 3, 4, 7, 7), null, Conv2dParams.of(1, 0)));
        assertTrue(e.getMessage().contains("padded input") && e.getMessage().contains("[3, 4, 7, 7]"), e.getMessage());
        e = assertThrows(ShapeException.class, () -> BE.conv2d(x, rand(DType.F32, 5, 3, 4, 3, 3), rand(DType.F32, 6, 4), Conv2dParams.of(1, 1)));
        assertTrue(e.getMessage().contains("bias"), e.getMessage());
        Tensor w = rand(DType.F32, 7, 3, 4, 3, 3);
        e = assertThrows(ShapeException.class, () -> BE.conv2dBackwardInput(rand(DType.F32, 8, 2, 3, 5, 5), w, x.shape(), Conv2dParams.of(1, 1)));
        assertTrue(e.getMessage().contains("conv2d_backward_input") && e.getMessage().contains("[2, 3, 6, 6]"), e.getMessage());
        assertThrows(ShapeException.class, () -> BE.conv2dBackwardWeight(rand(DType.F32, 9, 2, 3, 5, 5), x, w.shape(), Conv2dParams.of(1, 1)));
        assertThrows(ShapeException.class, () -> BE.conv2d(rand(DType.F32, 10, 4, 6, 6), w, null, Conv2dParams.of(1, 1)));
    }
}
