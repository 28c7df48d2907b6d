package dev.clipvil.testing;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.autograd.GradMode;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Reductions;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;

import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Float64 finite-difference gradient checks. The function's output is contracted with a fixed random
 * tensor w (so every output element matters), L = sum(f(x) * w); the analytic gradient of L from
 * backward() is compared with central differences (step 1e-6) for every input element.
 */
public final class GradCheck {
    private GradCheck() {}

    /** Checks f's gradient wrt every input that requires grad. Inputs must be F64. */
    public static void check(String name, Function<Tensor[], Tensor> f, Tensor... inputs) {
        check(name, f, 1e-6, 1e-5, 1e-4, inputs);
    }

    public static void check(String name, Function<Tensor[], Tensor> f, double eps, double atol, double rtol, Tensor... inputs) {
        for (Tensor t : inputs) {
            if (t.requiresGrad() && t.dtype() != DType.F64) fail(name + ": gradcheck inputs must be F64, got " + t.describe());
            if (t.requiresGrad()) t.zeroGrad();
        }
        Tensor w;
        try (MemoryScope s = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
            Tensor out = f.apply(inputs);
            w = MemoryScope.detach(Creation.randn(1234, DType.F64, out.shape()));
        }
        try (MemoryScope s = MemoryScope.open()) {
            Tensor out = f.apply(inputs);
            Tensor loss = Reductions.sum(Elementwise.mul(out, w));
            Autograd.backward(loss);
        }
        for (int k = 0; k < inputs.length; k++) {
            Tensor x = inputs[k];
            if (!x.requiresGrad()) continue;
            assertTrue(x.grad() != null, name + ": input " + k + " got no gradient");
            double[] analytic = x.grad().toDoubleArray();
            double[] numeric = new double[x.numel()];
            int[] shape = x.shape();
            int[] idx = new int[shape.length];
            double[] store = x.hostStorage().f64();
            for (int i = 0; i < x.numel(); i++) {
                int off = x.elementOffset(idx);
                double orig = store[off];
                store[off] = orig + eps;
                double lp = evalLoss(f, inputs, w);
                store[off] = orig - eps;
                double lm = evalLoss(f, inputs, w);
                store[off] = orig;
                numeric[i] = (lp - lm) / (2 * eps);
                for (int d = shape.length - 1; d >= 0; d--) {
                    if (++idx[d] < shape[d]) break;
                    idx[d] = 0;
                }
            }
            for (int i = 0; i < numeric.length; i++) {
                double a = analytic[i], n = numeric[i];
                if (!(Math.abs(a - n) <= atol + rtol * Math.abs(n))) {
                    fail(String.format("%s: gradient of input %d (shape %s) at flat index %d: analytic %.8g, numeric %.8g",
                            name, k, java.util.Arrays.toString(shape), i, a, n));
                }
            }
            x.zeroGrad();
        }
        w.close();
    }

    private static double evalLoss(Function<Tensor[], Tensor> f, Tensor[] inputs, Tensor w) {
        try (MemoryScope s = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
            Tensor out = f.apply(inputs);
            return Reductions.sum(Elementwise.mul(out, w)).item();
        }
    }

    /** A random F64 tensor that requires grad (values in [-1, 1)). */
    public static Tensor input(long seed, int... shape) {
        Tensor t = Creation.rand(seed, DType.F64, shape);
        double[] a = t.hostStorage().f64();
        for (int i = 0; i < a.length; i++) a[i] = 2 * a[i] - 1;
        return t.requiresGrad(true);
    }

    /** A random F64 tensor with values in [lo, hi) that requires grad. */
    public static Tensor input(long seed, double lo, double hi, int... shape) {
        Tensor t = Creation.rand(seed, DType.F64, shape);
        double[] a = t.hostStorage().f64();
        for (int i = 0; i < a.length; i++) a[i] = lo + (hi - lo) * a[i];
        return t.requiresGrad(true);
    }
}
