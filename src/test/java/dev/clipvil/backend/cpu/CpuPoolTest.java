package dev.clipvil.backend.cpu;

import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Pool2dParams;
import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Average pooling against values worked out by hand from PyTorch's definition, and against a naive
 * reference that walks every kernel tap of the padded input.
 */
class CpuPoolTest {
    private final Backend be = CpuBackend.get();

    private static Tensor arange(DType dt, int... shape) {
        Tensor t = Tensor.empty(dt, shape);
        for (int i = 0; i < t.numel(); i++) t.hostStorage().setDouble(i, i);
        return t;
    }

    private static Pool2dParams params(int k, int s, int p, boolean ceil, boolean countPad) {
        return new Pool2dParams(k, k, s, s, p, p, ceil, countPad);
    }

    @Test
    void paddedPoolMatchesPyTorchByHand() {
        // F.avg_pool2d(arange(16).view(1,1,4,4), 3, 2, 1): windows [0,2) and [1,4) on each axis.
        Tensor x = arange(DType.F64, 1, 1, 4, 4);
        assertArrayEquals(new double[]{10 / 9.0, 24 / 9.0, 51 / 9.0, 10},
                be.avgPool2d(x, params(3, 2, 1, false, true)).toDoubleArray(), 1e-12);
        assertArrayEquals(new double[]{2.5, 4, 8.5, 10},
                be.avgPool2d(x, params(3, 2, 1, false, false)).toDoubleArray(), 1e-12);
    }

    @Test
    void ceilModeWindowsAreClippedAndDividedAsPyTorchDoes() {
        // F.avg_pool2d(arange(25).view(1,1,5,5), 2, 2, ceil_mode=True): the last window holds one row/column
        // and is divided by what it covers (no padding to count).
        Tensor x = arange(DType.F32, 1, 1, 5, 5);
        Tensor y = be.avgPool2d(x, params(2, 2, 0, true, true));
        assertArrayEquals(new int[]{1, 1, 3, 3}, y.shape());
        assertArrayEquals(new double[]{3, 5, 6.5, 13, 15, 16.5, 20.5, 22.5, 24}, y.toDoubleArray(), 1e-6);

        // 6x6, kernel 3, stride 2, padding 1, ceil_mode: 4 outputs per axis; the last window starts at 5
        // and is clipped to the padded end 7, so count_include_pad divides by 2 along that axis.
        Tensor x6 = arange(DType.F64, 1, 1, 6, 6);
        Tensor inc = be.avgPool2d(x6, params(3, 2, 1, true, true));
        Tensor exc = be.avgPool2d(x6, params(3, 2, 1, true, false));
        assertArrayEquals(new int[]{1, 1, 4, 4}, inc.shape());
        assertArrayEquals(new double[]{14 / 9.0, 16 / 6.0, 61 / 6.0, 14, 35 / 4.0},
                new double[]{inc.get(0, 0, 0, 0), inc.get(0, 0, 0, 3), inc.get(0, 0, 3, 0), inc.get(0, 0, 1, 1), inc.get(0, 0, 3, 3)}, 1e-12);
        assertArrayEquals(new double[]{3.5, 8, 30.5, 14, 35},
                new double[]{exc.get(0, 0, 0, 0), exc.get(0, 0, 0, 3), exc.get(0, 0, 3, 0), exc.get(0, 0, 1, 1), exc.get(0, 0, 3, 3)}, 1e-12);

        // 5 wide, kernel 2, stride 2, padding 1, ceil_mode: a 4th window would start in the right padding,
        // so PyTorch drops it and the output is 3 wide.
        assertArrayEquals(new int[]{1, 1, 3, 3}, be.avgPool2d(x, params(2, 2, 1, true, true)).shape());
    }

    /** Walks every tap (ky, kx) of every window over the padded input. */
    private static double[] naivePool(Tensor x, Pool2dParams p, int oh, int ow) {
        int[] s = x.shape();
        int n = s[0], c = s[1], h = s[2], w = s[3];
        double[] out = new double[n * c * oh * ow];
        for (int b = 0; b < n; b++) for (int ch = 0; ch < c; ch++) for (int i = 0; i < oh; i++) for (int j = 0; j < ow; j++) {
            double sum = 0;
            int real = 0, rowsInPad = 0, colsInPad = 0;
            for (int ky = 0; ky < p.kernelH(); ky++) if (i * p.strideH() - p.padH() + ky < h + p.padH()) rowsInPad++;
            for (int kx = 0; kx < p.kernelW(); kx++) if (j * p.strideW() - p.padW() + kx < w + p.padW()) colsInPad++;
            for (int ky = 0; ky < p.kernelH(); ky++) for (int kx = 0; kx < p.kernelW(); kx++) {
                int y = i * p.strideH() - p.padH() + ky, z = j * p.strideW() - p.padW() + kx;
                if (y >= 0 && y < h && z >= 0 && z < w) { sum += x.get(b, ch, y, z); real++; }
            }
            out[((b * c + ch) * oh + i) * ow + j] = sum / (p.countIncludePad() ? rowsInPad * colsInPad : real);
        }
        return out;
    }

    @Test
    void everyParameterComboMatchesTheNaiveReference() {
        Tensor base = Creation.randn(7, DType.F64, 2, 7, 3, 9);
        Tensor x = base.asStrided(new int[]{2, 3, 7, 9}, new int[]{189, 9, 27, 1}, 0); // C and H swapped: strided
        for (int k = 1; k <= 4; k++) for (int s = 1; s <= 3; s++) for (int pad = 0; pad <= k / 2; pad++)
            for (boolean ceil : new boolean[]{false, true}) for (boolean cp : new boolean[]{false, true}) {
                Pool2dParams p = new Pool2dParams(k, Math.max(1, k - 1), s, s + 1, pad, Math.min(pad, (k - 1) / 2), ceil, cp);
                Tensor y = be.avgPool2d(x, p);
                int oh = p.outH(7), ow = p.outW(9);
                assertArrayEquals(new int[]{2, 3, oh, ow}, y.shape(), p.toString());
                assertArrayEquals(naivePool(x, p, oh, ow), y.toDoubleArray(), 1e-12, p.toString());
                y.close();
            }
    }

    @Test
    void backwardIsTheTransposeOfTheForward() {
        // <pool(x), g> == <x, pool_backward(g)> for every x, g: checks the scatter against the gather.
        for (Pool2dParams p : new Pool2dParams[]{params(3, 2, 1, true, true), params(3, 2, 1, true, false), params(2, 3, 0, false, true)}) {
            Tensor x = Creation.randn(8, DType.F64, 2, 2, 6, 5);
            Tensor y = be.avgPool2d(x, p);
            Tensor g = Creation.randn(9, DType.F64, y.shape());
            Tensor gx = be.avgPool2dBackward(g, x.shape(), p);
            assertTrue(Math.abs(dot(y, g) - dot(x, gx)) < 1e-10, p.toString());
        }
        Tensor x = Creation.randn(10, DType.F64, 1, 3, 7, 5);
        Tensor y = be.adaptiveAvgPool2d(x, 3, 2);
        Tensor g = Creation.randn(11, DType.F64, y.shape());
        assertTrue(Math.abs(dot(y, g) - dot(x, be.adaptiveAvgPool2dBackward(g, x.shape()))) < 1e-10);
    }

    private static double dot(Tensor a, Tensor b) {
        double[] x = a.toDoubleArray(), y = b.toDoubleArray();
        double s = 0;
        for (int i = 0; i < x.length; i++) s += x[i] * y[i];
        return s;
    }

    @Test
    void adaptivePoolUsesFloorAndCeilWindows() {
        // 7 -> 3 rows: [0,3), [2,5), [4,7); 5 -> 2 columns: [0,3), [2,5). x[y][z] = 5y + z, so each
        // output is 5 * mean(rows) + mean(cols).
        Tensor x = arange(DType.F32, 1, 1, 7, 5);
        assertArrayEquals(new double[]{6, 8, 16, 18, 26, 28}, be.adaptiveAvgPool2d(x, 3, 2).toDoubleArray(), 1e-5);
        // Growing (2 -> 3): windows [0,1), [0,2), [1,2).
        Tensor small = Tensor.of(new double[]{1, 2, 3, 4}, 1, 1, 2, 2);
        assertArrayEquals(new double[]{1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4}, be.adaptiveAvgPool2d(small, 3, 3).toDoubleArray(), 1e-12);
        // Global pooling and a CHW input.
        Tensor chw = arange(DType.F64, 2, 3, 3);
        assertArrayEquals(new double[]{4, 13}, be.adaptiveAvgPool2d(chw, 1, 1).toDoubleArray(), 1e-12);
    }

    @Test
    void adaptiveBackwardSpreadsEvenlyOverOverlappingWindows() {
        // 5 -> 2 with windows [0,3) and [2,5): element 2 is in both, each contributes g/3.
        Tensor g = Tensor.of(new double[]{3, 6}, 1, 1, 1, 2);
        Tensor gx = be.adaptiveAvgPool2dBackward(g, new int[]{1, 1, 1, 5});
        assertArrayEquals(new double[]{1, 1, 3, 2, 2}, gx.toDoubleArray(), 1e-12);
    }

    @Test
    void errorsNameTheOpAndShapes() {
        Tensor x = Creation.randn(1, DType.F32, 1, 1, 2, 2);
        ShapeException e = assertThrows(ShapeException.class, () -> be.avgPool2d(x, Pool2dParams.of(3, 1)));
        assertTrue(e.getMessage().contains("avg_pool2d") && e.getMessage().contains("[1, 1, 2, 2]"), e.getMessage());
        e = assertThrows(ShapeException.class, () -> be.avgPool2d(Creation.randn(1, DType.F32, 4, 4), Pool2dParams.of(2, 2)));
        assertTrue(e.getMessage().contains("[4, 4]"), e.getMessage());
        assertThrows(DTypeException.class, () -> be.avgPool2d(Tensor.ofInts(new int[4], 1, 1, 2, 2), Pool2dParams.of(1, 1)));
        e = assertThrows(ShapeException.class, () -> be.avgPool2dBackward(Creation.randn(1, DType.F32, 1, 1, 2, 2), new int[]{1, 1, 2, 2}, Pool2dParams.of(2, 2)));
        assertTrue(e.getMessage().contains("[1, 1, 1, 1]"), e.getMessage());
        assertThrows(ShapeException.class, () -> be.adaptiveAvgPool2d(x, 0, 1));
        assertThrows(ShapeException.class, () -> be.adaptiveAvgPool2dBackward(Creation.randn(1, DType.F32, 1, 2, 1, 1), new int[]{1, 1, 2, 2}));
    }
}
