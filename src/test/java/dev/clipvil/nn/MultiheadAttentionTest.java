package dev.clipvil.nn;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** MultiheadAttention against linear projections, per-head softmax attention and the output projection written out in doubles. */
class MultiheadAttentionTest {
    static final int N = 2, E = 4, H = 2, D = E / H;

    /** x [rows, in] @ w[out, in]^T + b, with w taken from rows [r0, r0+out) of a packed weight. */
    private static double[] linear(double[] x, int rows, int in, double[] w, double[] b, int r0, int out) {
        double[] y = new double[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double s = b[r0 + o];
                for (int i = 0; i < in; i++) s += x[r * in + i] * w[(r0 + o) * in + i];
                y[r * out + o] = s;
            }
        }
        return y;
    }

    /**
     * The reference: q, k, v projections, then for each batch and head softmax(q k^T / sqrt D + mask) v,
     * heads concatenated, then out_proj. {@code blocked[n][i][j]} hides key j from query i.
     */
    static double[] reference(MultiheadAttention m, double[] q, double[] k, double[] v, int sq, int sk, boolean[][][] blocked, double[][] additive) {
        double[] w = m.stateDict().get("in_proj_weight").toDoubleArray(), b = m.stateDict().get("in_proj_bias").toDoubleArray();
        double[] qp = linear(q, N * sq, E, w, b, 0, E), kp = linear(k, N * sk, E, w, b, E, E), vp = linear(v, N * sk, E, w, b, 2 * E, E);
        double[] merged = new double[N * sq * E];
        for (int n = 0; n < N; n++) {
            for (int h = 0; h < H; h++) {
                for (int i = 0; i < sq; i++) {
                    double[] s = new double[sk];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < sk; j++) {
                        double dot = 0;
                        for (int d = 0; d < D; d++) dot += qp[(n * sq + i) * E + h * D + d] * kp[(n * sk + j) * E + h * D + d];
                        s[j] = dot / Math.sqrt(D) + (additive == null ? 0 : additive[i][j]);
                        if (blocked != null && blocked[n][i][j]) s[j] = Double.NEGATIVE_INFINITY;
                        max = Math.max(max, s[j]);
                    }
                    double z = 0;
                    for (int j = 0; j < sk; j++) z += (s[j] = Math.exp(s[j] - max));
                    for (int d = 0; d < D; d++) {
                        double acc = 0;
                        for (int j = 0; j < sk; j++) acc += s[j] / z * vp[(n * sk + j) * E + h * D + d];
                        merged[(n * sq + i) * E + h * D + d] = acc;
                    }
                }
            }
        }
        return linear(merged, N * sq, E, m.outProj().weight().toDoubleArray(), m.outProj().bias().toDoubleArray(), 0, E);
    }

    private static MultiheadAttention model() {
        MultiheadAttention m = new MultiheadAttention(E, H, new Init(17));
        m.to(DType.F64);
        // non-zero biases so that their wiring is tested too
        Init init = new Init(18);
        init.uniform(m.stateDict().get("in_proj_bias"), -0.5, 0.5);
        init.uniform(m.outProj().bias(), -0.5, 0.5);
        return m;
    }

    private static double[] rand(long seed, int... shape) {
        try (Tensor t = dev.clipvil.ops.Creation.randn(seed, DType.F64, shape)) {
            return t.toDoubleArray();
        }
    }

    @Test
    void stateDictLayoutMatchesPyTorch() {
        MultiheadAttention m = new MultiheadAttention(8, 2);
        assertEquals(List.of("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"), List.copyOf(m.stateDict().keySet()));
        assertArrayEquals(new int[]{24, 8}, m.stateDict().get("in_proj_weight").shape());
        assertArrayEquals(new float[24], m.stateDict().get("in_proj_bias").toFloatArray());
        m.close();
    }

    @Test
    void selfAttentionWithCausalAdditiveMask() {
        MultiheadAttention m = model();
        int s = 3;
        double[] x = rand(1, N, s, E);
        double[][] causal = new double[s][s];
        for (int i = 0; i < s; i++) for (int j = i + 1; j < s; j++) causal[i][j] = Double.NEGATIVE_INFINITY;
        try (MemoryScope scope = MemoryScope.open()) {
            Tensor xt = Tensor.of(x, N, s, E);
            double[] flat = new double[s * s];
            for (int i = 0; i < s; i++) for (int j = 0; j < s; j++) flat[i * s + j] = causal[i][j];
            assertArrayEquals(reference(m, x, x, x, s, s, null, null), m.forward(xt, null).toDoubleArray(), 1e-12, "no mask");
            assertArrayEquals(reference(m, x, x, x, s, s, null, causal), m.forward(xt, Tensor.of(flat, s, s)).toDoubleArray(), 1e-12, "causal");
        }
        m.close();
    }

    @Test
    void crossAttentionWithBoolMaskAndKeyPadding() {
        MultiheadAttention m = model();
        int sq = 3, sk = 5;
        double[] q = rand(2, N, sq, E), k = rand(3, N, sk, E), v = rand(4, N, sk, E);
        boolean[] attn = new boolean[sq * sk];
        attn[1] = true; attn[sk + 4] = true;                     // blocked (PyTorch: true = not allowed)
        boolean[] pad = new boolean[N * sk];
        pad[4] = true; pad[sk + 3] = true; pad[sk + 4] = true;   // padding keys
        boolean[][][] blockedAttn = new boolean[N][sq][sk], blockedBoth = new boolean[N][sq][sk], blockedPad = new boolean[N][sq][sk];
        for (int n = 0; n < N; n++) {
            for (int i = 0; i < sq; i++) {
                for (int j = 0; j < sk; j++) {
                    blockedAttn[n][i][j] = attn[i * sk + j];
                    blockedPad[n][i][j] = pad[n * sk + j];
                    blockedBoth[n][i][j] = attn[i * sk + j] || pad[n * sk + j];
                }
            }
        }
        try (MemoryScope scope = MemoryScope.open()) {
            Tensor qt = Tensor.of(q, N, sq, E), kt = Tensor.of(k, N, sk, E), vt = Tensor.of(v, N, sk, E);
            Tensor am = Tensor.ofBools(attn, sq, sk), pm = Tensor.ofBools(pad, N, sk);
            assertArrayEquals(reference(m, q, k, v, sq, sk, blockedAttn, null), m.forward(qt, kt, vt, am).toDoubleArray(), 1e-12, "bool attn mask");
            assertArrayEquals(reference(m, q, k, v, sq, sk, blockedPad, null), m.forward(qt, kt, vt, null, pm).toDoubleArray(), 1e-12, "padding");
            assertArrayEquals(reference(m, q, k, v, sq, sk, blockedBoth, null), m.forward(qt, kt, vt, am, pm).toDoubleArray(), 1e-12, "both");
            assertThrows(dev.clipvil.tensor.ShapeException.class, () -> m.forward(qt, kt, vt, Tensor.ofBools(new boolean[sq * sq], sq, sq)));
        }
        m.close();
    }

    @Test
    void gradCheckOfSelfAndCrossAttention() {
        MultiheadAttention m = model();
        Tensor inW = m.stateDict().get("in_proj_weight"), inB = m.stateDict().get("in_proj_bias"), outW = m.outProj().weight();
        Tensor x = GradCheck.input(5, N, 3, E), kv = GradCheck.input(6, N, 4, E);
        GradCheck.check("mha self", t -> m.forward(t[0], null), x, inW, inB, outW);
        Tensor pad = Tensor.ofBools(new boolean[]{false, false, false, true, false, true, false, false}, N, 4);
        GradCheck.check("mha cross+padding", t -> m.forward(t[0], t[1], t[1], null, pad), x, kv, inW, outW);
        m.close();
    }
}
