package dev.clipvil.vil;

import dev.clipvil.autograd.GradMode;
import dev.clipvil.nn.Init;
import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pooler's activation option: tanh(W h[:, 0] + b) by default (HF), W h[:, 0] + b without tanh (CLIP-ViL's VQA path). */
class BertPoolerTest {
    static final BertConfig TINY = new BertConfig(20, 6, 1, 2, 12, 10, 2, 1e-12, 0.0, 0.0, 0.5, 0);

    /** The reference by hand: row [CLS] of each batch element through the Linear, then tanh or identity. */
    private static double[] reference(BertPooler p, Tensor h, boolean tanh) {
        Map<String, Tensor> w = p.namedParameters();
        double[] wt = w.get("dense.weight").toDoubleArray(), b = w.get("dense.bias").toDoubleArray(), x = h.toDoubleArray();
        int n = h.shape(0), s = h.shape(1), d = h.shape(2);
        double[] out = new double[n * d];
        for (int i = 0; i < n; i++) {
            for (int o = 0; o < d; o++) {
                double y = b[o];
                for (int k = 0; k < d; k++) y += wt[o * d + k] * x[(i * s) * d + k];
                out[i * d + o] = tanh ? Math.tanh(y) : y;
            }
        }
        return out;
    }

    private static void close(double[] a, double[] b, double tol) {
        assertEquals(a.length, b.length);
        for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], tol, "element " + i);
    }

    @Test
    void tanhByDefaultIdentityWhenOff() {
        try (BertPooler p = new BertPooler(TINY, new Init(3)); MemoryScope s = MemoryScope.open(); var ng = GradMode.noGrad()) {
            p.to(DType.F64);
            Tensor h = Creation.randn(4, DType.F64, 3, 5, 6);
            assertTrue(p.tanh());
            close(reference(p, h, true), p.forward(h).toDoubleArray(), 1e-12);
            p.setTanh(false);
            close(reference(p, h, false), p.forward(h).toDoubleArray(), 1e-12);
            // a pre-activation beyond tanh's range shows the difference is real
            double max = 0;
            for (double v : p.forward(h).toDoubleArray()) max = Math.max(max, Math.abs(v));
            assertTrue(max > 1, "identity pooler outputs exceed 1 here: " + max);
        }
    }

    @Test
    void bertModelOptionKeepsTheStateDict() {
        try (BertModel m = new BertModel(TINY, new Init(5)); MemoryScope s = MemoryScope.open(); var ng = GradMode.noGrad()) {
            m.eval();
            m.to(DType.F64);
            var keys = m.stateDict().keySet();
            Tensor ids = Tensor.ofInts(new int[]{2, 7, 9, 3, 1, 4, 3, 0}, 2, 4);
            Tensor vis = Creation.randn(6, DType.F64, 2, 3, 6);
            assertTrue(m.poolerTanh());
            BertOutput a = m.forward(ids, null, null, vis);
            close(reference(m.pooler(), a.lastHiddenState(), true), a.pooled().toDoubleArray(), 1e-12);
            assertFalse(m.setPoolerTanh(false).poolerTanh());
            BertOutput b = m.forward(ids, null, null, vis);
            close(a.lastHiddenState().toDoubleArray(), b.lastHiddenState().toDoubleArray(), 0);
            close(reference(m.pooler(), b.lastHiddenState(), false), b.pooled().toDoubleArray(), 1e-12);
            assertEquals(keys, m.stateDict().keySet());
        }
    }

    @Test
    void gradCheckBothSettings() {
        try (BertPooler p = new BertPooler(TINY, new Init(8))) {
            p.to(DType.F64);
            Map<String, Tensor> w = p.namedParameters();
            Tensor h = GradCheck.input(9, 2, 3, 6);
            for (boolean tanh : new boolean[]{true, false}) {
                p.setTanh(tanh);
                GradCheck.check("pooler tanh=" + tanh, x -> p.forward(x[0]), h, w.get("dense.weight"), w.get("dense.bias"));
            }
        }
    }
}
