package dev.clipvil.optim;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Linear;
import dev.clipvil.ops.Reductions;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SGD against a plain-double transcription of torch.optim.SGD on the AdamW test's regression problem. */
class SGDTest {
    /** torch.optim.SGD's single-tensor update. */
    static void referenceStep(double[][] params, double[][] grads, double[][] bufs, boolean first,
                              double lr, double momentum, double dampening, double wd, boolean nesterov) {
        for (int k = 0; k < params.length; k++) {
            double[] p = params[k];
            for (int i = 0; i < p.length; i++) {
                double d = grads[k][i] + wd * p[i];                       // d_p = d_p.add(param, alpha=weight_decay)
                if (momentum != 0) {
                    if (first) bufs[k][i] = d;                            // buf = torch.clone(d_p)
                    else bufs[k][i] = bufs[k][i] * momentum + (1 - dampening) * d;
                    d = nesterov ? d + momentum * bufs[k][i] : bufs[k][i];
                }
                p[i] -= lr * d;                                           // param.add_(d_p, alpha=-lr)
            }
        }
    }

    private static void run(double momentum, double dampening, double wd, boolean nesterov) {
        double lr = 0.05;
        int n = AdamWTest.N, in = AdamWTest.IN, out = AdamWTest.OUT;
        Tensor x = Creation.randn(21, DType.F64, n, in), target = Creation.randn(22, DType.F64, n, out);
        Tensor w = Creation.randn(23, DType.F64, out, in).requiresGrad(true), b = Creation.randn(24, DType.F64, out).requiresGrad(true);
        double[][] ref = {w.toDoubleArray(), b.toDoubleArray()};
        double[][] bufs = {new double[out * in], new double[out]};
        Map<String, Tensor> params = new LinkedHashMap<>();
        params.put("weight", w);
        params.put("bias", b);
        try (SGD opt = new SGD(params, lr, momentum, dampening, wd, nesterov)) {
            for (int step = 1; step <= 10; step++) {
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor d = Elementwise.sub(Linear.linear(x, w, b), target);
                    Autograd.backward(Reductions.mean(Elementwise.mul(d, d)));
                    double[][] g = AdamWTest.referenceGrads(ref[0], ref[1], x.toDoubleArray(), target.toDoubleArray());
                    opt.step();
                    opt.zeroGrad();
                    referenceStep(ref, g, bufs, step == 1, lr, momentum, dampening, wd, nesterov);
                }
                double diff = Math.max(AdamWTest.maxDiff(ref[0], w.toDoubleArray()), AdamWTest.maxDiff(ref[1], b.toDoubleArray()));
                assertTrue(diff <= 1e-12, "momentum " + momentum + " nesterov " + nesterov + " step " + step + ": diff " + diff);
            }
        }
        w.close(); b.close(); x.close(); target.close();
    }

    @Test
    void nesterovMomentumWithWeightDecay() { run(0.9, 0, 0.01, true); }

    @Test
    void dampenedMomentum() { run(0.8, 0.25, 0.05, false); }

    @Test
    void plain() { run(0, 0, 0, false); }

    @Test
    void nesterovNeedsMomentumAndNoDampening() {
        Map<String, Tensor> ps = Map.of("p", Creation.zeros(DType.F64, 2));
        assertThrows(IllegalArgumentException.class, () -> new SGD(ps, 0.1, 0, 0, 0, true));
        assertThrows(IllegalArgumentException.class, () -> new SGD(ps, 0.1, 0.9, 0.1, 0, true));
    }
}
