package dev.clipvil.clip;

import dev.clipvil.backend.Backends;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Indexing;
import dev.clipvil.ops.Linear;
import dev.clipvil.ops.Views;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/**
 * Resizes the grid part of a learned positional embedding to another grid, so that CLIP's image
 * towers run at input sizes other than the trained one (CLIP-ViL's 600x1000 or 384x640 inputs).
 *
 * <p>The resampling is {@code torch.nn.functional.interpolate(grid, size=(h, w), mode="bicubic",
 * align_corners=False)} (no antialias) of the [C, gh, gw] grid: for output index i the source
 * coordinate is {@code (i + 0.5) * in / out - 0.5} (not clamped), its floor {@code i0} and fraction
 * {@code t} select the four taps {@code i0 - 1 .. i0 + 2}, clamped to the border, with the cubic
 * convolution weights of Keys' kernel, A = -0.75. Because it is linear and separable it is expressed
 * as one fixed matrix M = Wy (x) Wx of shape [h*w, gh*gw] (rows and columns in row-major (y, x) order),
 * and the resized grid is {@code M @ grid}: a matmul, so the gradient reaches the embedding parameter
 * and the op runs on whatever backend holds it. The weights are computed in float64 (PyTorch computes
 * them in the input's precision; the difference is float32 rounding). The leading tokens (CLIP's
 * class token or attention-pool mean token) are kept unchanged.
 */
public final class PositionalEmbeddingInterpolation {
    /** The cubic convolution constant PyTorch uses for bicubic interpolation. */
    public static final double CUBIC_A = -0.75;

    private PositionalEmbeddingInterpolation() {}

    /**
     * The 1-D bicubic resampling weights from {@code in} to {@code out} samples, as a row-major
     * [out, in] array (taps that the border clamp folds onto the same sample are summed).
     */
    public static double[] bicubicWeights(int in, int out) {
        if (in < 1 || out < 1) throw new IllegalArgumentException("bicubic: sizes must be >= 1, got " + in + " -> " + out);
        double[] w = new double[out * in];
        double scale = (double) in / out;
        double[] c = new double[4];
        for (int i = 0; i < out; i++) {
            double real = scale * (i + 0.5) - 0.5;
            int i0 = Math.min((int) Math.floor(real), in - 1);
            double t = Math.min(Math.max(real - i0, 0), 1);
            coefficients(t, c);
            for (int k = 0; k < 4; k++) {
                int src = Math.max(0, Math.min(in - 1, i0 - 1 + k));
                w[i * in + src] += c[k];
            }
        }
        return w;
    }

    /** PyTorch's get_cubic_upsample_coefficients: weights of the taps at offsets -1, 0, 1, 2 for fraction t. */
    static void coefficients(double t, double[] c) {
        c[0] = cubicFar(t + 1);
        c[1] = cubicNear(t);
        c[2] = cubicNear(1 - t);
        c[3] = cubicFar(2 - t);
    }

    /** Keys' kernel for |x| <= 1. */
    private static double cubicNear(double x) { return ((CUBIC_A + 2) * x - (CUBIC_A + 3)) * x * x + 1; }

    /** Keys' kernel for 1 < |x| < 2. */
    private static double cubicFar(double x) { return ((CUBIC_A * x - 5 * CUBIC_A) * x + 8 * CUBIC_A) * x - 4 * CUBIC_A; }

    /** The 2-D resampling matrix [outH*outW, inH*inW] (row-major), the Kronecker product of the 1-D weights. */
    public static double[] matrix(int inH, int inW, int outH, int outW) {
        double[] wy = bicubicWeights(inH, outH), wx = bicubicWeights(inW, outW);
        int cols = inH * inW;
        double[] m = new double[outH * outW * cols];
        for (int oy = 0; oy < outH; oy++) {
            for (int ox = 0; ox < outW; ox++) {
                int row = (oy * outW + ox) * cols;
                for (int iy = 0; iy < inH; iy++) {
                    double a = wy[oy * inH + iy];
                    if (a == 0) continue;
                    for (int ix = 0; ix < inW; ix++) m[row + iy * inW + ix] = a * wx[ox * inW + ix];
                }
            }
        }
        return m;
    }

    /** {@link #matrix} as a new tensor of {@code dtype} on {@code device}, owned by the caller. */
    public static Tensor matrixTensor(int inH, int inW, int outH, int outW, DType dtype, Device device) {
        Tensor host = Tensor.of(matrix(inH, inW, outH, outW), outH * outW, inH * inW);
        Tensor typed = host;
        if (dtype != DType.F64) {
            typed = Backends.of(host).cast(host, dtype);
            host.close();
        }
        if (device.equals(typed.device())) return typed;
        Tensor moved = Creation.to(typed, device);
        typed.close();
        return moved;
    }

    /**
     * {@code embedding} [prefix + inH*inW, C] with its grid rows replaced by {@code matrix} [outH*outW,
     * inH*inW] times them: [prefix + outH*outW, C]. Differentiable in {@code embedding}.
     */
    public static Tensor apply(Tensor embedding, int prefix, Tensor matrix) {
        if (embedding.dim() != 2 || matrix.dim() != 2 || embedding.shape(0) != prefix + matrix.shape(1)) {
            throw new ShapeException("positional embedding interpolation: embedding " + Shapes.str(embedding.shape()) + " with "
                    + prefix + " leading tokens does not match the resampling matrix " + Shapes.str(matrix.shape()));
        }
        Tensor grid = Views.narrow(embedding, 0, prefix, matrix.shape(1));
        Tensor resized = Linear.matmul(matrix, grid);
        if (prefix == 0) return resized;
        return Indexing.cat(new Tensor[]{Views.narrow(embedding, 0, 0, prefix), resized}, 0);
    }

    /** The buffer name under which a module caches the matrix for an (h, w) grid. */
    static String cacheName(int outH, int outW) { return "positional_embedding_resize_" + outH + "x" + outW; }
}
