package dev.clipvil.nn;

import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** LayerNorm, BatchNorm2d (running statistics, frozen mode) and Conv2d modules against loops in doubles. */
class NormConvLayersTest {
    private static double[] rand(long seed, int... shape) {
        try (Tensor t = Creation.randn(seed, DType.F64, shape)) {
            return t.toDoubleArray();
        }
    }

    @Test
    void layerNormNormalisesTheLastDim() {
        LayerNorm ln = new LayerNorm(4);
        assertEquals(List.of("weight", "bias"), List.copyOf(ln.stateDict().keySet()));
        ln.to(DType.F64);
        new Init(1).uniform(ln.stateDict().get("weight"), 0.5, 1.5);
        new Init(2).uniform(ln.stateDict().get("bias"), -1, 1);
        double[] w = ln.stateDict().get("weight").toDoubleArray(), b = ln.stateDict().get("bias").toDoubleArray();
        double[] x = rand(3, 3, 4);
        try (MemoryScope s = MemoryScope.open()) {
            double[] y = ln.forward(Tensor.of(x, 3, 4)).toDoubleArray();
            for (int r = 0; r < 3; r++) {
                double mean = 0, var = 0;
                for (int c = 0; c < 4; c++) mean += x[r * 4 + c] / 4;
                for (int c = 0; c < 4; c++) var += (x[r * 4 + c] - mean) * (x[r * 4 + c] - mean) / 4;
                for (int c = 0; c < 4; c++) {
                    assertEquals((x[r * 4 + c] - mean) / Math.sqrt(var + 1e-5) * w[c] + b[c], y[r * 4 + c], 1e-12);
                }
            }
        }
        ln.close();
    }

    /** Per-channel mean and biased variance of x [N, C, HW]. */
    private static double[][] channelStats(double[] x, int n, int c, int hw) {
        double[] mean = new double[c], var = new double[c];
        for (int ch = 0; ch < c; ch++) {
            for (int i = 0; i < n; i++) for (int p = 0; p < hw; p++) mean[ch] += x[(i * c + ch) * hw + p] / (n * hw);
            for (int i = 0; i < n; i++) for (int p = 0; p < hw; p++) var[ch] += Math.pow(x[(i * c + ch) * hw + p] - mean[ch], 2) / (n * hw);
        }
        return new double[][]{mean, var};
    }

    @Test
    void batchNormUpdatesRunningStatisticsInTraining() {
        BatchNorm2d bn = new BatchNorm2d(3);
        assertEquals(List.of("weight", "bias", "running_mean", "running_var", "num_batches_tracked"), List.copyOf(bn.stateDict().keySet()));
        assertEquals(DType.I64, bn.stateDict().get("num_batches_tracked").dtype());
        assertEquals(2, bn.namedParameters().size());
        bn.to(DType.F64);
        assertEquals(DType.I64, bn.stateDict().get("num_batches_tracked").dtype(), "integer buffers keep their dtype");
        int n = 4, c = 3, hw = 4;
        double[] x = rand(4, n, c, 2, 2);
        double[][] st = channelStats(x, n, c, hw);
        int count = n * hw;
        try (MemoryScope s = MemoryScope.open()) {
            double[] y = bn.forward(Tensor.of(x, n, c, 2, 2)).toDoubleArray();
            for (int i = 0; i < x.length; i++) {
                int ch = (i / hw) % c;
                assertEquals((x[i] - st[0][ch]) / Math.sqrt(st[1][ch] + 1e-5), y[i], 1e-12);
            }
        }
        double[] rm = bn.runningMean().toDoubleArray(), rv = bn.runningVar().toDoubleArray();
        for (int ch = 0; ch < c; ch++) {
            assertEquals(0.1 * st[0][ch], rm[ch], 1e-12);
            assertEquals(0.9 + 0.1 * st[1][ch] * count / (count - 1), rv[ch], 1e-12, "unbiased variance in the running estimate");
        }
        assertEquals(1, bn.numBatchesTracked());
        bn.close();
    }

    @Test
    void frozenBatchNormUsesRunningStatisticsWhileTraining() {
        Sequential net = new Sequential(new BatchNorm2d(2), new ReLU(), new BatchNorm2d(2));
        net.to(DType.F64);
        BatchNorm2d bn = (BatchNorm2d) net.get(0);
        setRunning(bn, new double[]{0.5, -1}, new double[]{4, 0.25});
        assertEquals(2, BatchNorm2d.freezeStatistics(net));
        net.train();
        assertTrue(net.isTraining() && bn.isFrozen() && !bn.usesBatchStatistics());
        double[] x = rand(5, 3, 2, 1, 2);
        try (MemoryScope s = MemoryScope.open()) {
            double[] y = bn.forward(Tensor.of(x, 3, 2, 1, 2)).toDoubleArray();
            double[] mean = {0.5, -1}, var = {4, 0.25};
            for (int i = 0; i < x.length; i++) {
                int ch = (i / 2) % 2;
                assertEquals((x[i] - mean[ch]) / Math.sqrt(var[ch] + 1e-5), y[i], 1e-12);
            }
        }
        assertArrayEquals(new double[]{0.5, -1}, bn.runningMean().toDoubleArray(), 0, "frozen: unchanged");
        assertEquals(0, bn.numBatchesTracked());
        bn.setFrozen(false);
        try (MemoryScope s = MemoryScope.open()) {
            bn.forward(Tensor.of(x, 3, 2, 1, 2));
        }
        assertFalse(bn.runningMean().toDoubleArray()[0] == 0.5, "unfrozen: updated");
        assertEquals(1, bn.numBatchesTracked());
        net.close();
    }

    /** Sets a BatchNorm2d's running statistics through its state dict. */
    private static void setRunning(BatchNorm2d bn, double[] mean, double[] var) {
        try (Tensor m = Tensor.of(mean, mean.length); Tensor v = Tensor.of(var, var.length)) {
            java.util.Map<String, Tensor> sd = new java.util.LinkedHashMap<>(bn.stateDict());
            sd.put("running_mean", m);
            sd.put("running_var", v);
            bn.loadStateDict(sd);
        }
    }

    @Test
    void conv2dMatchesDirectLoops() {
        // groups 2, stride 2, padding 1, dilation 1; 4 -> 6 channels, 3x3
        Conv2d conv = new Conv2d(4, 6, 3, 2, 1, 1, 2, true, new Init(8));
        assertArrayEquals(new int[]{6, 2, 3, 3}, conv.weight().shape());
        assertEquals(List.of("weight", "bias"), List.copyOf(conv.stateDict().keySet()));
        double bound = 1 / Math.sqrt(2 * 9);
        for (float v : conv.weight().toFloatArray()) assertTrue(Math.abs(v) <= bound);
        conv.to(DType.F64);
        int n = 1, c = 4, h = 5, w = 5, oh = 3, ow = 3;
        double[] x = rand(9, n, c, h, w);
        double[] wt = conv.weight().toDoubleArray(), b = conv.bias().toDoubleArray();
        try (MemoryScope s = MemoryScope.open()) {
            Tensor y = conv.forward(Tensor.of(x, n, c, h, w));
            assertArrayEquals(new int[]{1, 6, 3, 3}, y.shape());
            double[] yd = y.toDoubleArray();
            for (int k = 0; k < 6; k++) {
                int g = k / 3;
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        double acc = b[k];
                        for (int cc = 0; cc < 2; cc++) {
                            for (int r = 0; r < 3; r++) {
                                for (int q = 0; q < 3; q++) {
                                    int yy = i * 2 - 1 + r, xx = j * 2 - 1 + q;
                                    if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                                    acc += x[((g * 2 + cc) * h + yy) * w + xx] * wt[((k * 2 + cc) * 3 + r) * 3 + q];
                                }
                            }
                        }
                        assertEquals(acc, yd[(k * oh + i) * ow + j], 1e-12);
                    }
                }
            }
        }
        conv.close();
    }
}
