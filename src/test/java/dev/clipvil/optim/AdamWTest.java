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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * AdamW against a plain-double transcription of torch.optim.AdamW's algorithm (single-tensor path)
 * on linear regression with weight decay: y = x W^T + b, loss = mean((y - t)^2).
 */
class AdamWTest {
    static final int N = 8, IN = 4, OUT = 3;

    /** torch.optim.AdamW, amsgrad=False, maximize=False, written out in doubles. */
    static final class ReferenceAdamW {
        final double lr, b1, b2, eps, wd;
        final double[][] params, m, v;
        int step;

        ReferenceAdamW(double[][] params, double lr, double b1, double b2, double eps, double wd) {
            this.params = params;
            this.lr = lr; this.b1 = b1; this.b2 = b2; this.eps = eps; this.wd = wd;
            m = new double[params.length][];
            v = new double[params.length][];
            for (int i = 0; i < params.length; i++) {
                m[i] = new double[params[i].length];
                v[i] = new double[params[i].length];
            }
        }

        void step(double[][] grads) {
            step++;
            for (int k = 0; k < params.length; k++) {
                double[] p = params[k], g = grads[k];
                for (int i = 0; i < p.length; i++) {
                    p[i] *= 1 - lr * wd;                                  // param.mul_(1 - lr * weight_decay)
                    m[k][i] += (g[i] - m[k][i]) * (1 - b1);               // exp_avg.lerp_(grad, 1 - beta1)
                    v[k][i] = v[k][i] * b2 + (1 - b2) * g[i] * g[i];      // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2)
                    double bc1 = 1 - Math.pow(b1, step), bc2 = 1 - Math.pow(b2, step);
                    double stepSize = lr / bc1;
                    double denom = Math.sqrt(v[k][i]) / Math.sqrt(bc2) + eps;
                    p[i] += -stepSize * m[k][i] / denom;                  // param.addcdiv_(exp_avg, denom, value=-step_size)
                }
            }
        }
    }

    /** Analytic gradients of mean((x W^T + b - t)^2) wrt W [OUT, IN] and b [OUT]. */
    static double[][] referenceGrads(double[] w, double[] b, double[] x, double[] t) {
        double[] gw = new double[OUT * IN], gb = new double[OUT];
        double scale = 2.0 / (N * OUT);
        for (int n = 0; n < N; n++) {
            for (int o = 0; o < OUT; o++) {
                double y = b[o];
                for (int i = 0; i < IN; i++) y += x[n * IN + i] * w[o * IN + i];
                double r = scale * (y - t[n * OUT + o]);
                gb[o] += r;
                for (int i = 0; i < IN; i++) gw[o * IN + i] += r * x[n * IN + i];
            }
        }
        return new double[][]{gw, gb};
    }

    @Test
    void tenStepsMatchTorchAlgorithm() {
        double lr = 0.05, b1 = 0.9, b2 = 0.99, eps = 1e-8, wd = 0.1;
        Tensor x = Creation.randn(11, DType.F64, N, IN), target = Creation.randn(12, DType.F64, N, OUT);
        Tensor w = Creation.randn(13, DType.F64, OUT, IN).requiresGrad(true), b = Creation.randn(14, DType.F64, OUT).requiresGrad(true);
        ReferenceAdamW ref = new ReferenceAdamW(new double[][]{w.toDoubleArray(), b.toDoubleArray()}, lr, b1, b2, eps, wd);
        double[] xd = x.toDoubleArray(), td = target.toDoubleArray();
        Map<String, Tensor> params = new LinkedHashMap<>();
        params.put("weight", w);
        params.put("bias", b);
        try (AdamW opt = new AdamW(params, lr, b1, b2, eps, wd)) {
            for (int step = 1; step <= 10; step++) {
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor y = Linear.linear(x, w, b);
                    Tensor d = Elementwise.sub(y, target);
                    Autograd.backward(Reductions.mean(Elementwise.mul(d, d)));
                    double[][] g = referenceGrads(ref.params[0], ref.params[1], xd, td);
                    assertTrue(maxDiff(g[0], w.grad().toDoubleArray()) < 1e-12, "autograd gradient of W");
                    opt.step();
                    opt.zeroGrad();
                    ref.step(g);
                }
                double diff = Math.max(maxDiff(ref.params[0], w.toDoubleArray()), maxDiff(ref.params[1], b.toDoubleArray()));
                assertTrue(diff <= 1e-6, "step " + step + ": max |param - reference| = " + diff);
                assertTrue(diff <= 1e-12, "F64 should agree to rounding, step " + step + ": " + diff);
            }
            assertEquals(10, opt.state().params().get("weight").step());
            double[] m = opt.state().params().get("bias").slots().get("exp_avg").toDoubleArray();
            assertTrue(maxDiff(ref.m[1], m) < 1e-12, "exp_avg of the bias");
        }
        w.close(); b.close(); x.close(); target.close();
    }

    @Test
    void firstStepByHand() {
        // step 1: m/bc1 = g and sqrt(v)/sqrt(bc2) = |g|, so p1 = p0 (1 - lr wd) - lr g / (|g| + eps)
        for (DType dt : new DType[]{DType.F64, DType.F32}) {
            Tensor p = dev.clipvil.tensor.MemoryScope.detach(Tensor.of(new double[]{0.5, -1.0, 2.0}, 3));
            Tensor pt = dt == DType.F64 ? p : Elementwise.cast(p, DType.F32);
            pt.requiresGrad(true);
            Tensor g = Tensor.of(new double[]{0.2, -0.3, 0.0}, 3);
            pt.setGrad(dt == DType.F64 ? g : Elementwise.cast(g, DType.F32));
            try (AdamW opt = new AdamW(Map.of("p", pt), 0.1, 0.9, 0.999, 1e-8, 0.01)) {
                opt.step();
            }
            double[] v = pt.toDoubleArray();
            double tol = dt == DType.F64 ? 1e-15 : 1e-7;
            assertEquals(0.3995000049999997, v[0], tol, dt + " p[0]");
            assertEquals(-0.8990000033333332, v[1], tol, dt + " p[1]");
            assertEquals(1.998, v[2], tol, dt + " p[2] (zero gradient: only the decay)");
        }
    }

    @Test
    void parametersWithoutGradientAreSkipped() {
        Tensor a = Creation.ones(DType.F64, 2).requiresGrad(true), c = Creation.ones(DType.F64, 2).requiresGrad(true);
        a.setGrad(Creation.ones(DType.F64, 2));
        Map<String, Tensor> ps = new LinkedHashMap<>();
        ps.put("a", a);
        ps.put("c", c);
        try (AdamW opt = new AdamW(ps, 0.1)) {
            opt.step();
            assertEquals(1.0, c.get(0), 0, "no grad, no update (no decay either)");
            assertTrue(a.get(0) < 0.95);
            assertTrue(opt.state().params().containsKey("a"));
            assertTrue(!opt.state().params().containsKey("c"));
        }
    }

    static double maxDiff(double[] a, double[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }
}
