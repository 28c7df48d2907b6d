package dev.clipvil.backend.cpu;

import dev.clipvil.backend.UnaryOp;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The vectorised activations against the double-precision scalar formulas. */
class VecActivationsTest {
    private static float[] inputs() {
        SplittableRandom r = new SplittableRandom(5);
        float[] x = new float[4099];                       // not a multiple of the vector length: tails run too
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble(-12, 12) * (i % 7 == 0 ? 10 : 1));
        x[0] = 0f; x[1] = -0f; x[2] = 1e-6f; x[3] = -1e-6f; x[4] = 100f; x[5] = -100f; x[6] = 3.4e38f; x[7] = -3.4e38f;
        return x;
    }

    @Test
    void forwardAndGradientMatchTheScalarFormulas() {
        float[] x = inputs(), g = new float[x.length], out = new float[x.length + 3];
        for (int i = 0; i < g.length; i++) g[i] = 1f + (i % 3);
        for (UnaryOp op : new UnaryOp[]{UnaryOp.QUICK_GELU, UnaryOp.GELU, UnaryOp.SIGMOID, UnaryOp.RELU}) {
            assertTrue(VecActivations.supports(op));
            VecActivations.forward(op, x, 0, out, 3, 0, x.length);
            for (int i = 0; i < x.length; i++) {
                double want = CpuElementwise.unaryValue(op, x[i]);
                assertEquals(want, out[3 + i], 2e-7 + 2e-6 * Math.abs(want), op + " at x=" + x[i]);
            }
            VecActivations.backward(op, x, 0, g, 0, out, 3, 0, x.length);
            for (int i = 0; i < x.length; i++) {
                double want = g[i] * CpuElementwise.unaryDerivative(op, x[i], CpuElementwise.unaryValue(op, x[i]));
                if (Double.isNaN(want)) continue;              // 0 * inf at the float limits
                assertEquals(want, out[3 + i], 1e-6 + 4e-6 * Math.abs(want), op + "' at x=" + x[i]);
            }
        }
    }

    @Test
    void nanPropagates() {
        float[] x = new float[16], out = new float[16];
        java.util.Arrays.fill(x, Float.NaN);
        for (UnaryOp op : new UnaryOp[]{UnaryOp.QUICK_GELU, UnaryOp.GELU, UnaryOp.SIGMOID}) {
            VecActivations.forward(op, x, 0, out, 0, 0, 16);
            for (float v : out) assertTrue(Float.isNaN(v), op.name());
        }
    }
}
