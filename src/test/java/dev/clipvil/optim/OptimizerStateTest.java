package dev.clipvil.optim;

import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Exporting and importing state (resume gives the same trajectory), and combined optimizers. */
class OptimizerStateTest {
    private static Tensor param(long seed, int n) { return Creation.randn(seed, DType.F64, n).requiresGrad(true); }

    private static void setGrad(Tensor p, long seed) { p.setGrad(Creation.randn(seed, DType.F64, p.shape())); }

    @Test
    void resumedAdamWFollowsTheSameTrajectory() {
        Tensor a = param(1, 5), b = param(1, 5);
        try (AdamW full = new AdamW(Map.of("w", a), 0.01); AdamW first = new AdamW(Map.of("w", b), 0.01)) {
            for (int t = 0; t < 3; t++) {
                setGrad(a, 10 + t); full.step();
                setGrad(b, 10 + t); first.step();
            }
            OptimizerState saved = OptimizerState.of(first.state().steps(), first.state().tensors());
            assertEquals(List.of("w.exp_avg", "w.exp_avg_sq"), List.copyOf(saved.tensors().keySet()));
            Tensor c = Tensor.of(b.toDoubleArray(), 5).requiresGrad(true);
            try (AdamW resumed = new AdamW(Map.of("w", c), 0.01)) {
                resumed.loadState(saved);
                assertEquals(3, resumed.state().params().get("w").step());
                for (int t = 3; t < 6; t++) {
                    setGrad(a, 10 + t); full.step();
                    setGrad(c, 10 + t); resumed.step();
                }
                assertArrayEquals(a.toDoubleArray(), c.toDoubleArray(), 0);
            }
        }
    }

    @Test
    void badStateIsRejectedBeforeAnythingChanges() {
        Tensor a = param(2, 3);
        try (AdamW opt = new AdamW(Map.of("a", a), 0.01)) {
            setGrad(a, 3);
            opt.step();
            double[] before = opt.state().params().get("a").slots().get("exp_avg").toDoubleArray();
            Map<String, OptimizerState.Entry> bad = new LinkedHashMap<>();
            bad.put("a", new OptimizerState.Entry(7, Map.of("exp_avg", Creation.ones(DType.F64, 3), "exp_avg_sq", Creation.ones(DType.F64, 4))));
            bad.put("ghost", new OptimizerState.Entry(1, Map.of()));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> opt.loadState(new OptimizerState(bad)));
            assertTrue(e.getMessage().contains("a.exp_avg_sq: expected [3] got [4]"), e.getMessage());
            assertTrue(e.getMessage().contains("unknown parameter 'ghost'"), e.getMessage());
            assertEquals(1, opt.state().params().get("a").step());
            assertArrayEquals(before, opt.state().params().get("a").slots().get("exp_avg").toDoubleArray(), 0);
        }
    }

    @Test
    void optimizerSetStepsEachPartWithItsOwnRule() {
        Tensor fusion = param(4, 3), backbone = param(5, 3);
        double[] f0 = fusion.toDoubleArray(), b0 = backbone.toDoubleArray();
        AdamW adam = new AdamW(List.of(new ParamGroup("fusion", Map.of("fusion.w", fusion), 1e-3, 0)), 0.9, 0.999, 1e-8);
        SGD sgd = new SGD(List.of(new ParamGroup("backbone", Map.of("backbone.w", backbone), 0.1, 0)), 0.9, 0, false);
        try (OptimizerSet opt = new OptimizerSet(adam, sgd)) {
            assertEquals(2, opt.groups().size());
            fusion.setGrad(Creation.ones(DType.F64, 3));
            backbone.setGrad(Creation.ones(DType.F64, 3));
            opt.step();
            assertEquals(f0[0] - 1e-3, fusion.get(0), 1e-9);    // Adam's first step moves by lr
            assertEquals(b0[0] - 0.1, backbone.get(0), 1e-15);  // SGD moves by lr * g
            opt.zeroGrad();
            assertEquals(null, fusion.grad());
            OptimizerState st = opt.state();
            assertEquals(List.of("fusion.w", "backbone.w"), List.copyOf(st.params().keySet()));
            assertTrue(st.params().get("backbone.w").slots().containsKey("momentum_buffer"));
            opt.loadState(st);
            assertThrows(IllegalArgumentException.class, () -> new OptimizerSet(adam, new SGD(Map.of("fusion.w", param(6, 3)), 0.1)));
        }
    }
}
