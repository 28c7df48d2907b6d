package dev.clipvil.vil;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.autograd.GradMode;
import dev.clipvil.nn.Init;
import dev.clipvil.ops.Creation;
import dev.clipvil.optim.AdamW;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** VisualTokens, VqaHead and the ClipVil VQA model on tiny random configurations. */
class ClipVilTest {
    static final BertConfig TINY = new BertConfig(30, 16, 1, 2, 32, 12, 2, 1e-12, 0.0, 0.0, 0.02, 0);

    @Test
    void namesAndShapes() {
        try (ClipVil m = new ClipVil(TINY, 6, 5, new Init(1)); MemoryScope s = MemoryScope.open(); var ng = GradMode.noGrad()) {
            m.eval();
            Map<String, Tensor> p = m.namedParameters();
            assertArrayEquals(new int[]{25, 6}, p.get("visual_tokens.row_embeddings").shape());
            assertArrayEquals(new int[]{25, 6}, p.get("visual_tokens.col_embeddings").shape());
            assertArrayEquals(new int[]{16, 6}, p.get("visual_tokens.proj.weight").shape());
            assertArrayEquals(new int[]{16}, p.get("visual_tokens.LayerNorm.weight").shape());
            assertArrayEquals(new int[]{32, 16}, p.get("vqa_head.logit_fc.0.weight").shape());
            assertArrayEquals(new int[]{32}, p.get("vqa_head.logit_fc.2.bias").shape());
            assertArrayEquals(new int[]{5, 32}, p.get("vqa_head.logit_fc.3.weight").shape());
            assertTrue(p.containsKey("bert.embeddings.word_embeddings.weight"));
            for (String k : p.keySet()) {
                assertTrue(k.startsWith("bert.") || k.startsWith("visual_tokens.") || k.startsWith("vqa_head."), k);
            }
            Tensor ids = Tensor.ofInts(new int[]{2, 5, 7, 3, 2, 9, 3, 0}, 2, 4);
            Tensor mask = Tensor.ofInts(new int[]{1, 1, 1, 1, 1, 1, 1, 0}, 2, 4);
            Tensor logits = m.forward(ids, null, mask, Creation.randn(2, DType.F32, 2, 6, 3, 4));
            assertArrayEquals(new int[]{2, 5}, logits.shape());
            assertArrayEquals(new int[]{2, 12, 16}, m.visualTokens().forward(Creation.randn(2, DType.F32, 2, 6, 3, 4)).shape());
        }
    }

    @Test
    void gridPoolAveragesCellsBeforeTheTokens() {
        try (VisualTokens pooled = new VisualTokens(3, 4, 1e-12, 0.0, 0.02, new Init(2)); VisualTokens plain = new VisualTokens(3, 4, 1e-12, 0.0, 0.02, new Init(2));
             MemoryScope s = MemoryScope.open()) {
            pooled.setGridPool(2).eval();
            plain.eval();
            Tensor grid = Creation.randn(5, DType.F32, 2, 3, 4, 6);
            // by hand: 4x6 -> 2x2 averages 2x3 blocks
            double[] g = grid.toDoubleArray(), avg = new double[2 * 3 * 2 * 2];
            for (int n = 0; n < 2; n++) for (int c = 0; c < 3; c++) for (int r = 0; r < 2; r++) for (int q = 0; q < 2; q++) {
                double sum = 0;
                for (int y = 0; y < 2; y++) for (int x = 0; x < 3; x++) sum += g[((n * 3 + c) * 4 + r * 2 + y) * 6 + q * 3 + x];
                avg[((n * 3 + c) * 2 + r) * 2 + q] = sum / 6;
            }
            float[] a = new float[avg.length];
            for (int i = 0; i < a.length; i++) a[i] = (float) avg[i];
            Tensor got = pooled.forward(grid), want = plain.forward(Tensor.of(a, 2, 3, 2, 2));
            assertArrayEquals(new int[]{2, 4, 4}, got.shape());
            assertArrayEquals(want.toFloatArray(), got.toFloatArray(), 1e-5f);
            assertArrayEquals(want.toFloatArray(), pooled.forward(Tensor.of(a, 2, 3, 2, 2)).toFloatArray(), 0f, "a 2x2 grid is left as it is");
            assertEquals(2, pooled.gridPool());
            assertThrows(IllegalArgumentException.class, () -> pooled.setGridPool(-1));
            assertThrows(IllegalArgumentException.class, () -> pooled.setGridPool(26));
        }
    }

    @Test
    void gridLargerThanTablesIsRejected() {
        try (VisualTokens vt = new VisualTokens(3, 4, 1e-12, 0.0, 0.02, new Init(2)); MemoryScope s = MemoryScope.open()) {
            ShapeException e = assertThrows(ShapeException.class, () -> vt.forward(Creation.zeros(1, 3, 26, 2)));
            assertTrue(e.getMessage().contains("[1, 3, 26, 2]"), e.getMessage());
            assertThrows(ShapeException.class, () -> vt.forward(Creation.zeros(1, 3, 2, 26)));
            assertThrows(ShapeException.class, () -> vt.forward(Creation.zeros(1, 4, 2, 2)));
        }
    }

    /** Reference: token (r, c) = grid[:, :, r, c] + row[r] + col[c], then x W^T + b, then LayerNorm (weight 1, bias 0). */
    private static double[] reference(VisualTokens vt, Tensor grid, int[] cells) {
        Map<String, Tensor> p = vt.namedParameters();
        double[] g = grid.toDoubleArray(), row = p.get("row_embeddings").toDoubleArray(), col = p.get("col_embeddings").toDoubleArray();
        double[] w = p.get("proj.weight").toDoubleArray(), b = p.get("proj.bias").toDoubleArray();
        int n = grid.shape(0), c = grid.shape(1), h = grid.shape(2), wd = grid.shape(3), hid = b.length;
        double[] out = new double[n * cells.length * hid];
        for (int i = 0; i < n; i++) {
            for (int t = 0; t < cells.length; t++) {
                int r = cells[t] / wd, cc = cells[t] % wd;
                double[] x = new double[c];
                for (int f = 0; f < c; f++) x[f] = g[((i * c + f) * h + r) * wd + cc] + row[r * c + f] + col[cc * c + f];
                double[] y = new double[hid];
                double mean = 0, var = 0;
                for (int o = 0; o < hid; o++) {
                    y[o] = b[o];
                    for (int f = 0; f < c; f++) y[o] += w[o * c + f] * x[f];
                    mean += y[o] / hid;
                }
                for (int o = 0; o < hid; o++) var += (y[o] - mean) * (y[o] - mean) / hid;
                for (int o = 0; o < hid; o++) out[(i * cells.length + t) * hid + o] = (y[o] - mean) / Math.sqrt(var + 1e-12);
            }
        }
        return out;
    }

    private static void close(double[] a, double[] b, double tol) {
        assertEquals(a.length, b.length);
        for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], tol, "element " + i);
    }

    @Test
    void rowAndColumnEmbeddingsFollowTheirCells() {
        try (VisualTokens vt = new VisualTokens(3, 4, 1e-12, 0.0, 0.5, new Init(3)); MemoryScope s = MemoryScope.open(); var ng = GradMode.noGrad()) {
            vt.to(DType.F64);
            Tensor grid = Creation.randn(4, DType.F64, 2, 3, 2, 3);
            vt.eval();
            close(reference(vt, grid, new int[]{0, 1, 2, 3, 4, 5}), vt.forward(grid).toDoubleArray(), 1e-9);
            vt.train();
            vt.setSeed(11);
            vt.setSampleTokens(4);
            Tensor sampled = vt.forward(grid);
            int[] cells = vt.lastIndices();
            assertEquals(4, cells.length);
            close(reference(vt, grid, cells), sampled.toDoubleArray(), 1e-9);
        }
    }

    @Test
    void samplingIsDistinctDeterministicAndOffInEval() {
        int[] a = VisualTokens.chooseTokens(42, 0, 240, 100), b = VisualTokens.chooseTokens(42, 0, 240, 100);
        assertArrayEquals(a, b);
        Set<Integer> distinct = new HashSet<>();
        for (int i : a) {
            assertTrue(i >= 0 && i < 240);
            distinct.add(i);
        }
        assertEquals(100, distinct.size());
        assertTrue(!Arrays.equals(a, VisualTokens.chooseTokens(42, 1, 240, 100)), "a new call draws a new set");
        assertTrue(!Arrays.equals(a, VisualTokens.chooseTokens(43, 0, 240, 100)), "a new seed draws a new set");
        try (VisualTokens x = new VisualTokens(2, 4, 1e-12, 0.1, 0.02, new Init(5)); VisualTokens y = new VisualTokens(2, 4, 1e-12, 0.1, 0.02, new Init(6));
             MemoryScope s = MemoryScope.open(); var ng = GradMode.noGrad()) {
            assertEquals(100, x.sampleTokens());
            Tensor grid = Creation.randn(1, DType.F32, 3, 2, 12, 20);
            x.train();
            y.train();
            x.setSeed(9);
            y.setSeed(9);
            assertArrayEquals(new int[]{3, 100, 4}, x.forward(grid).shape());
            y.forward(grid);
            assertArrayEquals(x.lastIndices(), y.lastIndices());
            x.setSampleTokens(7);
            assertArrayEquals(new int[]{3, 7, 4}, x.forward(grid).shape());
            assertEquals(7, new HashSet<>(Arrays.asList(Arrays.stream(x.lastIndices()).boxed().toArray(Integer[]::new))).size());
            x.setSampleTokens(0);
            assertArrayEquals(new int[]{3, 240, 4}, x.forward(grid).shape());
            x.setSampleTokens(100);
            x.eval();
            assertArrayEquals(new int[]{3, 240, 4}, x.forward(grid).shape());
            assertNull(x.lastIndices());
        }
    }

    @Test
    void visualTokensGradCheck() {
        try (VisualTokens vt = new VisualTokens(3, 4, 1e-12, 0.0, 0.5, new Init(8))) {
            vt.to(DType.F64);
            Map<String, Tensor> p = vt.namedParameters();
            Tensor grid = Creation.randn(3, DType.F64, 2, 3, 2, 3).requiresGrad(true);
            Tensor[] in = {grid, p.get("row_embeddings"), p.get("col_embeddings"), p.get("proj.weight"), p.get("proj.bias"),
                    p.get("LayerNorm.weight"), p.get("LayerNorm.bias")};
            vt.eval();
            GradCheck.check("visual tokens (all cells)", x -> vt.forward(x[0]), in);
            vt.train();
            vt.setSampleTokens(4);
            GradCheck.check("visual tokens (sampled)", x -> vt.setSeed(17).forward(x[0]), in);
            // a transposed (non-contiguous) grid
            Tensor gt = Creation.randn(4, DType.F64, 2, 3, 3, 2).requiresGrad(true);
            vt.eval();
            GradCheck.check("visual tokens (transposed grid)", x -> vt.forward(dev.clipvil.ops.Views.transpose(x[0], 2, 3)), gt, in[1], in[2]);
        }
    }

    @Test
    void vqaHeadGradCheckAndLossReduction() {
        try (VqaHead head = new VqaHead(4, 3, 1e-12, 0.5, new Init(9))) {
            head.to(DType.F64);
            Map<String, Tensor> p = head.namedParameters();
            assertEquals(6, p.size(), p.keySet().toString());
            Tensor pooled = Creation.randn(5, DType.F64, 2, 4).requiresGrad(true);
            Tensor[] in = {pooled, p.get("logit_fc.0.weight"), p.get("logit_fc.0.bias"), p.get("logit_fc.2.weight"),
                    p.get("logit_fc.2.bias"), p.get("logit_fc.3.weight"), p.get("logit_fc.3.bias")};
            GradCheck.check("vqa head", x -> head.forward(x[0]), in);
            Tensor target = Tensor.of(new double[]{0, 0.3, 1, 0.6, 0, 0}, 2, 3);
            GradCheck.check("vqa head loss", x -> VqaHead.loss(head.forward(x[0]), target), in);
            try (MemoryScope s = MemoryScope.open(); var ng = GradMode.noGrad()) {
                Tensor logits = Tensor.of(new double[]{0.5, -1, 2, 0, 3, -0.2}, 2, 3);
                double[] x = logits.toDoubleArray(), t = target.toDoubleArray();
                double sum = 0;
                for (int i = 0; i < 6; i++) sum += Math.max(x[i], 0) - x[i] * t[i] + Math.log1p(Math.exp(-Math.abs(x[i])));
                assertEquals(sum / 2, VqaHead.loss(logits, target).toDoubleArray()[0], 1e-12, "sum over answers, mean over the batch");
                assertThrows(ShapeException.class, () -> VqaHead.loss(logits, Creation.zeros(DType.F64, 2, 4)));
            }
        }
    }

    @Test
    void tinyModelOverfitsFourExamples() {
        long t0 = System.nanoTime();
        // a wider init (0.2) than BERT's 0.02 so four random examples are told apart within 30 steps
        BertConfig c = new BertConfig(30, 16, 1, 2, 32, 12, 2, 1e-12, 0.0, 0.0, 0.2, 0);
        try (ClipVil m = new ClipVil(c, 8, 6, new Init(12))) {
            m.train();
            m.visualTokens().setSampleTokens(4);
            Tensor ids = Tensor.ofInts(new int[]{2, 5, 7, 3, 2, 9, 3, 0, 2, 11, 4, 3, 2, 6, 8, 3}, 4, 4);
            Tensor mask = Tensor.ofInts(new int[]{1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1}, 4, 4);
            Tensor grid = Creation.randn(13, DType.F32, 4, 8, 2, 3);
            Tensor target = Tensor.of(new float[]{1, 0, 0, 0, 0.3f, 0, 0, 1, 0, 0, 0, 0.6f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0.9f, 0, 0}, 4, 6);
            double first = 0, last = 0;
            try (AdamW opt = new AdamW(m.namedParameters(), 1e-2, 0.9, 0.999, 1e-6, 0.01)) {
                for (int step = 0; step < 30; step++) {
                    try (MemoryScope s = MemoryScope.open()) {
                        opt.zeroGrad();
                        Tensor loss = VqaHead.loss(m.forward(ids, null, mask, grid), target);
                        double v = loss.toDoubleArray()[0];
                        if (step == 0) first = v;
                        last = v;
                        Autograd.backward(loss);
                        opt.step();
                    }
                }
            }
            grid.close();
            double secs = (System.nanoTime() - t0) / 1e9;
            System.out.printf("ClipVil overfit: BCE %.3f -> %.3f in 30 AdamW steps, %.2f s%n", first, last, secs);
            assertTrue(last < first / 2, "loss " + first + " -> " + last);
        }
    }
}
