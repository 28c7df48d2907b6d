package dev.clipvil.backend.cuda;

import dev.clipvil.backend.NormResult;
import dev.clipvil.backend.Pool2dParams;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GpuAvailable;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static dev.clipvil.backend.cuda.GpuParity.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Batch norm, pooling, optimizer steps and random fills on the GPU against the CPU backend. */
@Tag("gpu")
@ExtendWith(GpuAvailable.class)
class CudaNormPoolOptimParityTest {
    @BeforeAll
    static void poison() { CudaMemory.setPoison(true); }

    @Test
    void batchNormTrainEvalAndBackward() {
        try (Pair x = randnT(1, 4, 3, 7, 5); Pair w = randn(2, 3); Pair b = randn(3, 3); Pair rm = randn(4, 3); Pair rv = rand(5, 0.5, 2, 3);
             Pair gy = randn(6, 4, 3, 5, 7)) {
            NormResult g = gpu().batchNormTrain(x.gpu(), w.gpu(), b.gpu(), rm.gpu(), rv.gpu(), 0.1, 1e-5);
            NormResult c = cpu().batchNormTrain(x.cpu(), w.cpu(), b.cpu(), rm.cpu(), rv.cpu(), 0.1, 1e-5);
            assertClose("batch_norm train out", g.out(), c.out(), F32);
            assertClose("batch_norm mean", g.mean(), c.mean(), F32);
            assertClose("batch_norm rstd", g.rstd(), c.rstd(), F32);
            assertClose("running_mean", rm.gpu(), rm.cpu(), F32);
            assertClose("running_var", rv.gpu(), rv.cpu(), F32);
            for (boolean training : new boolean[]{true, false}) {
                Tensor[] gg = gpu().batchNormBackward(gy.gpu(), x.gpu(), w.gpu(), g.mean(), g.rstd(), training);
                Tensor[] cg = cpu().batchNormBackward(gy.cpu(), x.cpu(), w.cpu(), c.mean(), c.rstd(), training);
                for (int i = 0; i < 3; i++) assertClose("batch_norm backward " + i + " training=" + training, gg[i], cg[i], 1e-4);
                close(gg);
                close(cg);
            }
            Tensor ge = gpu().batchNormEval(x.gpu(), w.gpu(), null, rm.gpu(), rv.gpu(), 1e-5);
            Tensor ce = cpu().batchNormEval(x.cpu(), w.cpu(), null, rm.cpu(), rv.cpu(), 1e-5);
            assertClose("batch_norm eval", ge, ce, F32);
            close(g.out(), g.mean(), g.rstd(), c.out(), c.mean(), c.rstd(), ge, ce);
        }
    }

    /** Device copies of {@code n} fresh random tensors of the given sizes (param, grad, state 1, state 2 per tensor). */
    private static Tensor[][] operands(long seed, int[] sizes) {
        Tensor[][] t = new Tensor[4][sizes.length];
        for (int k = 0; k < 4; k++) {
            for (int i = 0; i < sizes.length; i++) {
                try (Pair p = k == 3 ? rand(seed + 10 * i + k, 0, 1, sizes[i]) : randn(seed + 10 * i + k, sizes[i])) {
                    t[k][i] = CudaTransfer.toDevice(p.cpu(), GPU);
                }
            }
        }
        return t;
    }

    private static Tensor[] copies(Tensor[] ts) {
        Tensor[] c = new Tensor[ts.length];
        for (int i = 0; i < ts.length; i++) {
            c[i] = gpu().empty(ts[i].dtype(), ts[i].shape());
            gpu().copy(ts[i], c[i]);
        }
        return c;
    }

    /** The multi-tensor updates give exactly the single-tensor kernels' results (same arithmetic, element for element). */
    @Test
    void multiTensorUpdatesEqualSingleTensorOnes() {
        int[] sizes = new int[53];
        for (int i = 0; i < sizes.length; i++) sizes[i] = i == 5 ? 150_001 : 1 + 37 * i;
        Tensor[][] a = operands(40, sizes);
        Tensor[][] b = {copies(a[0]), copies(a[1]), copies(a[2]), copies(a[3])};
        long[] steps = new long[sizes.length];
        for (int i = 0; i < steps.length; i++) steps[i] = 1 + i % 4;
        gpu().adamwStepMulti(a[0], a[1], a[2], a[3], 1e-3, 0.9, 0.999, 1e-8, 0.05, steps);
        for (int i = 0; i < sizes.length; i++) gpu().adamwStep(b[0][i], b[1][i], b[2][i], b[3][i], 1e-3, 0.9, 0.999, 1e-8, 0.05, steps[i]);
        for (int i = 0; i < sizes.length; i++) {
            assertArrayEquals(b[0][i].toDoubleArray(), a[0][i].toDoubleArray(), "adamw param " + i);
            assertArrayEquals(b[2][i].toDoubleArray(), a[2][i].toDoubleArray(), "adamw exp_avg " + i);
            assertArrayEquals(b[3][i].toDoubleArray(), a[3][i].toDoubleArray(), "adamw exp_avg_sq " + i);
        }
        boolean[] first = new boolean[sizes.length];
        for (int i = 0; i < first.length; i++) first[i] = i % 3 == 0;
        gpu().sgdStepMulti(a[0], a[1], a[2], 0.1, 0.9, 0, 1e-4, true, first);
        for (int i = 0; i < sizes.length; i++) gpu().sgdStep(b[0][i], b[1][i], b[2][i], 0.1, 0.9, 0, 1e-4, true, first[i]);
        for (int i = 0; i < sizes.length; i++) {
            assertArrayEquals(b[0][i].toDoubleArray(), a[0][i].toDoubleArray(), "sgd param " + i);
            assertArrayEquals(b[2][i].toDoubleArray(), a[2][i].toDoubleArray(), "sgd momentum " + i);
        }
        for (Tensor[][] set : new Tensor[][][]{a, b}) for (Tensor[] row : set) close(row);
    }

    @Test
    void averagePoolingFixedAndAdaptive() {
        Pool2dParams[] ps = {Pool2dParams.of(2, 2), new Pool2dParams(3, 3, 2, 2, 1, 1, true, false), new Pool2dParams(3, 2, 1, 2, 1, 0, false, true)};
        try (Pair x = randnT(1, 2, 3, 9, 7)) {
            for (Pool2dParams p : ps) {
                Tensor g = gpu().avgPool2d(x.gpu(), p), c = cpu().avgPool2d(x.cpu(), p);
                assertClose("avg_pool2d " + p, g, c, F32);
                try (Pair gy = randn(2, c.shape())) {
                    Tensor gb = gpu().avgPool2dBackward(gy.gpu(), x.shape(), p), cb = cpu().avgPool2dBackward(gy.cpu(), x.shape(), p);
                    assertClose("avg_pool2d backward " + p, gb, cb, F32);
                    close(gb, cb);
                }
                close(g, c);
            }
            for (int[] o : new int[][]{{1, 1}, {4, 3}, {9, 7}, {5, 5}}) {
                Tensor g = gpu().adaptiveAvgPool2d(x.gpu(), o[0], o[1]), c = cpu().adaptiveAvgPool2d(x.cpu(), o[0], o[1]);
                assertClose("adaptive " + o[0] + "x" + o[1], g, c, F32);
                try (Pair gy = randn(3, c.shape())) {
                    Tensor gb = gpu().adaptiveAvgPool2dBackward(gy.gpu(), x.shape()), cb = cpu().adaptiveAvgPool2dBackward(gy.cpu(), x.shape());
                    assertClose("adaptive backward " + o[0] + "x" + o[1], gb, cb, F32);
                    close(gb, cb);
                }
                close(g, c);
            }
        }
    }

    @Test
    void adamwAndSgdStepsMatchOverSeveralSteps() {
        try (Pair p = randnT(1, 33, 17); Pair m = rand(2, 0, 0, 33, 17); Pair v = rand(3, 0, 0, 33, 17)) {
            for (int step = 1; step <= 5; step++) {
                try (Pair g = randn(10 + step, 33, 17)) {
                    gpu().adamwStep(p.gpu(), g.gpu(), m.gpu(), v.gpu(), 1e-2, 0.9, 0.999, 1e-8, 0.05, step);
                    cpu().adamwStep(p.cpu(), g.cpu(), m.cpu(), v.cpu(), 1e-2, 0.9, 0.999, 1e-8, 0.05, step);
                }
            }
            assertClose("adamw param", p.gpu(), p.cpu(), F32);
            assertClose("adamw exp_avg", m.gpu(), m.cpu(), F32);
            assertClose("adamw exp_avg_sq", v.gpu(), v.cpu(), F32);
        }
        for (boolean nesterov : new boolean[]{false, true}) {
            try (Pair p = randnNarrow(1, 20, 9); Pair buf = rand(2, 0, 0, 20, 9)) {
                for (int step = 1; step <= 4; step++) {
                    try (Pair g = randn(20 + step, 20, 9)) {
                        gpu().sgdStep(p.gpu(), g.gpu(), buf.gpu(), 0.1, 0.9, 0.0, 1e-4, nesterov, step == 1);
                        cpu().sgdStep(p.cpu(), g.cpu(), buf.cpu(), 0.1, 0.9, 0.0, 1e-4, nesterov, step == 1);
                    }
                }
                assertClose("sgd nesterov=" + nesterov, p.gpu(), p.cpu(), F32);
                assertClose("sgd buffer", buf.gpu(), buf.cpu(), F32);
            }
        }
        try (Pair p = randn(1, 100); Pair g = randn(2, 100)) {
            gpu().sgdStep(p.gpu(), g.gpu(), null, 0.5, 0, 0, 0, false, true);
            cpu().sgdStep(p.cpu(), g.cpu(), null, 0.5, 0, 0, 0, false, true);
            assertClose("plain sgd", p.gpu(), p.cpu(), F32);
        }
    }

    @Test
    void randomFillsHaveTheRightDistributionAndAreSeeded() {
        int n = 1 << 20;
        try (Tensor u = gpu().empty(DType.F32, n); Tensor u2 = gpu().empty(DType.F32, n); Tensor z = gpu().empty(DType.F32, n)) {
            gpu().fillUniform(u, -1, 3, 42);
            gpu().fillUniform(u2, -1, 3, 42);
            assertArrayEquals(u.toFloatArray(), u2.toFloatArray(), "same seed, same values");
            double[] a = u.toDoubleArray();
            double mean = 0, min = 9, max = -9;
            for (double d : a) { mean += d; min = Math.min(min, d); max = Math.max(max, d); }
            mean /= n;
            assertEquals(1.0, mean, 0.01);
            assertTrue(min >= -1 && max < 3, min + " " + max);
            gpu().fillNormal(z, 2, 0.5, 7);
            double[] b = z.toDoubleArray();
            double m = 0, s = 0;
            for (double d : b) m += d;
            m /= n;
            for (double d : b) s += (d - m) * (d - m);
            s = Math.sqrt(s / n);
            assertEquals(2.0, m, 0.005);
            assertEquals(0.5, s, 0.005);
            gpu().fillUniform(u2, -1, 3, 43);
            assertNotEquals(u.toDoubleArray()[0], u2.toDoubleArray()[0], "another seed");
        }
        // random subsets: the very indices of the CPU backend (the same hash and ranking)
        int[][] cases = {{625, 100}, {49, 49}, {240, 1}, {4096, 4000}, {7, 0}, {196, 100}};
        for (int[] c : cases) {
            for (long seed : new long[]{0, 5, -3, 0x5DEECE66DL}) {
                try (Tensor g = gpu().randomSubset(c[0], c[1], seed); Tensor h = cpu().randomSubset(c[0], c[1], seed)) {
                    assertArrayEquals(h.toDoubleArray(), g.toDoubleArray(), "random subset " + c[1] + " of " + c[0] + ", seed " + seed);
                }
            }
        }
        try (Tensor mask = gpu().dropoutMask(new int[]{1000, 1000}, DType.F32, 0.1, 5)) {
            double zeros = 0;
            for (double d : mask.toDoubleArray()) {
                assertTrue(d == 0 || Math.abs(d - 1 / 0.9) < 1e-6, "mask value " + d);
                if (d == 0) zeros++;
            }
            assertEquals(0.1, zeros / 1e6, 0.002);
        }
    }
}
