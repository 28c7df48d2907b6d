package dev.clipvil.clip;

import dev.clipvil.ops.Views;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GradCheck;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Bicubic resizing of positional embeddings against PyTorch's values for a hand-checked case, a naive
 * per-pixel loop written from PyTorch's formulas, and a float64 gradient check.
 */
class PositionalEmbeddingInterpolationTest {
    /** F.interpolate(torch.tensor([[[[1., 2.], [3., 4.]]]]), size=(4, 4), mode="bicubic", align_corners=False). */
    private static final double[] TORCH_2X2_TO_4X4 = {
            0.68359375, 1.015625, 1.5625, 1.89453125,
            1.34765625, 1.6796875, 2.2265625, 2.55859375,
            2.44140625, 2.7734375, 3.3203125, 3.65234375,
            3.10546875, 3.4375, 3.984375, 4.31640625};

    @Test
    void oneDimensionalWeightsOfAnUpsampleByTwo() {
        // source coordinates -0.25, 0.25, 0.75, 1.25; Keys' weights (A = -0.75) with the border taps folded
        double[] expected = {
                1.10546875, -0.10546875,
                0.7734375, 0.2265625,
                0.2265625, 0.7734375,
                -0.10546875, 1.10546875};
        assertArrayEquals(expected, PositionalEmbeddingInterpolation.bicubicWeights(2, 4), 1e-15);
    }

    @Test
    void twoByTwoToFourByFourMatchesPyTorch() {
        double[] grid = {1, 2, 3, 4};
        assertArrayEquals(TORCH_2X2_TO_4X4, applyMatrix(grid, 1, 2, 2, 4, 4), 1e-12);
        // through the tensor op, with a class token in front that must come back unchanged
        try (MemoryScope s = MemoryScope.open()) {
            Tensor emb = Tensor.of(new double[]{-7, 1, 2, 3, 4}, 5, 1);
            Tensor m = PositionalEmbeddingInterpolation.matrixTensor(2, 2, 4, 4, DType.F32, Device.CPU);
            assertEquals(DType.F32, m.dtype());
            Tensor out = PositionalEmbeddingInterpolation.apply(Views.contiguous(castF32(emb)), 1, m);
            assertArrayEquals(new int[]{17, 1}, out.shape());
            double[] got = out.toDoubleArray();
            assertEquals(-7, got[0], 0);
            for (int i = 0; i < 16; i++) assertEquals(TORCH_2X2_TO_4X4[i], got[i + 1], 1e-6);
        }
    }

    private static Tensor castF32(Tensor t) { return dev.clipvil.ops.Elementwise.cast(t, DType.F32); }

    @Test
    void matchesANaiveBicubicLoopAtManySizes() {
        int[][] cases = {{7, 7, 18, 31}, {7, 7, 12, 20}, {3, 3, 5, 7}, {4, 4, 2, 3}, {5, 5, 5, 5}, {2, 3, 9, 1}, {1, 1, 3, 2}, {7, 7, 14, 14}};
        for (int[] c : cases) {
            int channels = 3;
            double[] grid = new double[c[0] * c[1] * channels];
            java.util.SplittableRandom r = new java.util.SplittableRandom(c[2] * 100 + c[3]);
            for (int i = 0; i < grid.length; i++) grid[i] = r.nextDouble(-1, 1);
            double[] expected = naiveBicubic(grid, channels, c[0], c[1], c[2], c[3]);
            assertArrayEquals(expected, applyMatrix(grid, channels, c[0], c[1], c[2], c[3]), 1e-12, java.util.Arrays.toString(c));
        }
    }

    @Test
    void sameSizeIsTheIdentityAndRowsSumToOne() {
        double[] m = PositionalEmbeddingInterpolation.matrix(4, 4, 4, 4);
        for (int i = 0; i < 16; i++) for (int j = 0; j < 16; j++) assertEquals(i == j ? 1 : 0, m[i * 16 + j], 1e-15);
        double[] big = PositionalEmbeddingInterpolation.matrix(7, 7, 18, 31);
        for (int i = 0; i < 18 * 31; i++) {
            double sum = 0;
            for (int j = 0; j < 49; j++) sum += big[i * 49 + j];
            assertEquals(1, sum, 1e-12);
        }
    }

    @Test
    void gradientReachesTheEmbedding() {
        try (Tensor m = PositionalEmbeddingInterpolation.matrixTensor(3, 3, 4, 5, DType.F64, Device.CPU)) {
            Tensor emb = GradCheck.input(11, 10, 4);
            GradCheck.check("pos_embed_interpolate", in -> PositionalEmbeddingInterpolation.apply(in[0], 1, m), emb);
            // a transposed (non-contiguous) embedding
            Tensor embT = GradCheck.input(12, 4, 10);
            GradCheck.check("pos_embed_interpolate_transposed", in -> PositionalEmbeddingInterpolation.apply(Views.transpose(in[0], 0, 1), 1, m), embT);
            // no leading token
            Tensor grid = GradCheck.input(13, 9, 2);
            GradCheck.check("pos_embed_interpolate_grid_only", in -> PositionalEmbeddingInterpolation.apply(in[0], 0, m), grid);
            emb.close();
            embT.close();
            grid.close();
        }
    }

    /** The [outH*outW, C] result of the op's matrix applied (in plain loops) to a row-major [inH*inW, C] grid. */
    private static double[] applyMatrix(double[] grid, int c, int inH, int inW, int outH, int outW) {
        double[] m = PositionalEmbeddingInterpolation.matrix(inH, inW, outH, outW);
        int rows = outH * outW, cols = inH * inW;
        double[] out = new double[rows * c];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) for (int k = 0; k < c; k++) out[i * c + k] += m[i * cols + j] * grid[j * c + k];
        return out;
    }

    /**
     * PyTorch's upsample_bicubic2d (align_corners=False) written per output pixel: source coordinate
     * scale * (o + 0.5) - 0.5 with scale = in / out, taps floor - 1 .. floor + 2 read with the index
     * clamped to the border, weights from Keys' cubic convolution with A = -0.75.
     */
    private static double[] naiveBicubic(double[] grid, int c, int inH, int inW, int outH, int outW) {
        double[] out = new double[outH * outW * c];
        for (int oy = 0; oy < outH; oy++) {
            double ry = (double) inH / outH * (oy + 0.5) - 0.5;
            int y0 = (int) Math.floor(ry);
            double[] wy = keys(ry - y0);
            for (int ox = 0; ox < outW; ox++) {
                double rx = (double) inW / outW * (ox + 0.5) - 0.5;
                int x0 = (int) Math.floor(rx);
                double[] wx = keys(rx - x0);
                for (int k = 0; k < c; k++) {
                    double acc = 0;
                    for (int a = 0; a < 4; a++) {
                        int yy = Math.max(0, Math.min(inH - 1, y0 - 1 + a));
                        double rowAcc = 0;
                        for (int b = 0; b < 4; b++) {
                            int xx = Math.max(0, Math.min(inW - 1, x0 - 1 + b));
                            rowAcc += wx[b] * grid[(yy * inW + xx) * c + k];
                        }
                        acc += wy[a] * rowAcc;
                    }
                    out[(oy * outW + ox) * c + k] = acc;
                }
            }
        }
        return out;
    }

    /** W(x) of Keys' kernel at the distances t + 1, t, 1 - t, 2 - t. */
    private static double[] keys(double t) {
        double a = -0.75;
        double[] d = {t + 1, t, 1 - t, 2 - t};
        double[] w = new double[4];
        for (int i = 0; i < 4; i++) {
            double x = Math.abs(d[i]);
            w[i] = x <= 1 ? (a + 2) * x * x * x - (a + 3) * x * x + 1
                    : x < 2 ? a * x * x * x - 5 * a * x * x + 8 * a * x - 4 * a : 0;
        }
        return w;
    }
}
