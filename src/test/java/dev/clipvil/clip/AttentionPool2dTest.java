package dev.clipvil.clip;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Reductions;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.HostMemory;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.nn.Init;
import dev.clipvil.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** CLIP's attention pooling against a loop reference, at the trained and other map sizes, with gradient checks. */
class AttentionPool2dTest {
    private static AttentionPool2d pool(int spacial, int embed, int heads, int out, long seed) {
        AttentionPool2d p = new AttentionPool2d(spacial, embed, heads, out, new Init(seed));
        p.to(DType.F64);
        // non-zero biases, so that every parameter matters
        for (var e : p.namedParameters().entrySet()) if (e.getKey().endsWith("bias")) new Init(seed + e.getKey().hashCode()).uniform(e.getValue(), -0.5, 0.5);
        return p;
    }

    @Test
    void stateDictHasOpenAiNames() {
        try (AttentionPool2d p = new AttentionPool2d(7, 64, 2, 16, new Init(0))) {
            assertEquals(List.of("positional_embedding", "k_proj.weight", "k_proj.bias", "q_proj.weight", "q_proj.bias",
                    "v_proj.weight", "v_proj.bias", "c_proj.weight", "c_proj.bias"), List.copyOf(p.stateDict().keySet()));
            assertArrayEquals(new int[]{50, 64}, p.stateDict().get("positional_embedding").shape());
            assertArrayEquals(new int[]{16, 64}, p.stateDict().get("c_proj.weight").shape());
        }
    }

    @Test
    void matchesALoopReferenceAtTheTrainedAndOtherSizes() {
        try (AttentionPool2d p = pool(2, 6, 3, 5, 1)) {
            for (int[] hw : new int[][]{{2, 2}, {3, 2}, {1, 4}, {5, 5}}) {
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor x = Creation.randn(hw[0] * 10 + hw[1], DType.F64, 2, 6, hw[0], hw[1]);
                    double[] got = p.forward(x).toDoubleArray();
                    double[] want = reference(p, x.toDoubleArray(), 2, hw[0], hw[1]);
                    assertArrayEquals(want, got, 1e-12, hw[0] + "x" + hw[1]);
                }
            }
        }
    }

    @Test
    void theResizedEmbeddingIsTheOneUsedAndItIsTrained() {
        try (AttentionPool2d p = pool(2, 4, 2, 3, 2); MemoryScope s = MemoryScope.open()) {
            Tensor x = Creation.randn(5, DType.F64, 1, 4, 3, 5);
            double[] before = p.forward(x).toDoubleArray();
            // a grid row of the parameter (not the mean token's): the output at 3x5 must move
            Tensor pe = p.stateDict().get("positional_embedding");
            pe.hostStorage().f64()[pe.elementOffset(3, 1)] += 0.5;
            double[] after = p.forward(x).toDoubleArray();
            double diff = 0;
            for (int i = 0; i < before.length; i++) diff = Math.max(diff, Math.abs(after[i] - before[i]));
            assertTrue(diff > 1e-3, "changing the positional embedding parameter did not change the output at 3x5 (max change " + diff + ")");
            // and the gradient reaches every grid row of it
            Autograd.backward(Reductions.sum(p.forward(x)));
            double[] g = pe.grad().toDoubleArray();
            for (int row = 0; row < 5; row++) {
                double n = 0;
                for (int c = 0; c < 4; c++) n += Math.abs(g[row * 4 + c]);
                assertTrue(n > 0, "no gradient for positional embedding row " + row);
            }
            p.zeroGrad();
        }
    }

    @Test
    void gradCheckAtTheTrainedSize() {
        try (AttentionPool2d p = pool(2, 4, 2, 3, 3)) {
            Tensor x = GradCheck.input(21, 2, 4, 2, 2);
            List<Tensor> inputs = new ArrayList<>(List.of(x));
            inputs.addAll(p.parameters());
            GradCheck.check("attention_pool_2d", in -> p.forward(in[0]), inputs.toArray(new Tensor[0]));
            x.close();
        }
    }

    @Test
    void gradCheckAtAnotherSize() {
        try (AttentionPool2d p = pool(2, 4, 2, 3, 4)) {
            Tensor x = GradCheck.input(22, 1, 4, 3, 2);
            List<Tensor> inputs = new ArrayList<>(List.of(x));
            inputs.addAll(p.parameters());
            GradCheck.check("attention_pool_2d_resized", in -> p.forward(in[0]), inputs.toArray(new Tensor[0]));
            x.close();
        }
    }

    @Test
    void resizeMatricesAreCachedNonPersistentBuffersFreedWithTheModule() {
        long before = HostMemory.get().inUseBytes();
        AttentionPool2d p = new AttentionPool2d(2, 4, 2, 3, new Init(5));
        try (MemoryScope s = MemoryScope.open()) {
            p.forward(Creation.randn(1, DType.F32, 1, 4, 3, 3));
            p.forward(Creation.randn(2, DType.F32, 1, 4, 3, 3));
            p.forward(Creation.randn(3, DType.F32, 2, 4, 2, 2));
        }
        Map<String, Tensor> buffers = p.namedBuffers();
        assertEquals(List.of("positional_embedding_resize_3x3"), List.copyOf(buffers.keySet()));
        assertArrayEquals(new int[]{9, 4}, buffers.get("positional_embedding_resize_3x3").shape());
        assertFalse(p.stateDict().containsKey("positional_embedding_resize_3x3"));
        p.to(DType.F64);
        assertEquals(DType.F64, p.namedBuffers().get("positional_embedding_resize_3x3").dtype());
        try (MemoryScope s = MemoryScope.open()) {
            assertEquals(DType.F64, p.forward(Creation.randn(4, DType.F64, 1, 4, 3, 3)).dtype());
        }
        p.close();
        assertEquals(before, HostMemory.get().inUseBytes());
    }

    /**
     * The pooling in plain loops: tokens = [mean; x_1 .. x_HW] + pos (resized with the bicubic matrix
     * when HW differs), q from the mean token only, per-head softmax(q k / sqrt(D)) v, then c_proj.
     */
    private static double[] reference(AttentionPool2d p, double[] x, int n, int h, int w) {
        Map<String, Tensor> sd = p.stateDict();
        int e = p.embedDim(), heads = p.heads(), d = e / heads, out = p.outputDim(), s = h * w + 1, sp = p.spacialDim();
        double[] pe = sd.get("positional_embedding").toDoubleArray();
        double[] pos = new double[s * e];
        if (h == sp && w == sp) {
            pos = pe;
        } else {
            double[] m = PositionalEmbeddingInterpolation.matrix(sp, sp, h, w);
            System.arraycopy(pe, 0, pos, 0, e);
            for (int i = 0; i < h * w; i++) for (int j = 0; j < sp * sp; j++) for (int c = 0; c < e; c++) pos[(1 + i) * e + c] += m[i * sp * sp + j] * pe[(1 + j) * e + c];
        }
        double[] wq = sd.get("q_proj.weight").toDoubleArray(), bq = sd.get("q_proj.bias").toDoubleArray();
        double[] wk = sd.get("k_proj.weight").toDoubleArray(), bk = sd.get("k_proj.bias").toDoubleArray();
        double[] wv = sd.get("v_proj.weight").toDoubleArray(), bv = sd.get("v_proj.bias").toDoubleArray();
        double[] wc = sd.get("c_proj.weight").toDoubleArray(), bc = sd.get("c_proj.bias").toDoubleArray();
        double[] result = new double[n * out];
        for (int b = 0; b < n; b++) {
            double[][] tok = new double[s][e];
            for (int c = 0; c < e; c++) {
                for (int i = 0; i < h * w; i++) {
                    tok[1 + i][c] = x[(b * e + c) * h * w + i];
                    tok[0][c] += tok[1 + i][c] / (h * w);
                }
            }
            for (int t = 0; t < s; t++) for (int c = 0; c < e; c++) tok[t][c] += pos[t * e + c];
            double[] q = affine(wq, bq, tok[0], e, e);
            double[][] k = new double[s][], v = new double[s][];
            for (int t = 0; t < s; t++) {
                k[t] = affine(wk, bk, tok[t], e, e);
                v[t] = affine(wv, bv, tok[t], e, e);
            }
            double[] attn = new double[e];
            for (int hd = 0; hd < heads; hd++) {
                double[] score = new double[s];
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int t = 0; t < s; t++) {
                    for (int j = 0; j < d; j++) score[t] += q[hd * d + j] * k[t][hd * d + j] / Math.sqrt(d);
                    max = Math.max(max, score[t]);
                }
                for (int t = 0; t < s; t++) sum += score[t] = Math.exp(score[t] - max);
                for (int t = 0; t < s; t++) for (int j = 0; j < d; j++) attn[hd * d + j] += score[t] / sum * v[t][hd * d + j];
            }
            System.arraycopy(affine(wc, bc, attn, e, out), 0, result, b * out, out);
        }
        return result;
    }

    private static double[] affine(double[] w, double[] bias, double[] x, int in, int out) {
        double[] y = new double[out];
        for (int o = 0; o < out; o++) {
            y[o] = bias[o];
            for (int i = 0; i < in; i++) y[o] += w[o * in + i] * x[i];
        }
        return y;
    }
}
