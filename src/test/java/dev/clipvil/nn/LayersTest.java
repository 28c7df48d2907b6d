package dev.clipvil.nn;

import dev.clipvil.backend.HostSeeds;
import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Layers without their own kernels to test: Linear, Embedding, Dropout, activations; and Init. */
class LayersTest {
    @Test
    void linearComputesXWtPlusB() {
        Linear l = new Linear(3, 2, true, new Init(5));
        try (MemoryScope s = MemoryScope.open()) {
            Tensor x = Tensor.of(new float[]{1, 2, 3, -1, 0, 0.5f}, 2, 3);
            float[] y = l.forward(x).toFloatArray();
            float[] w = l.weight().toFloatArray(), b = l.bias().toFloatArray(), xs = x.toFloatArray();
            for (int n = 0; n < 2; n++) {
                for (int o = 0; o < 2; o++) {
                    double e = b[o];
                    for (int i = 0; i < 3; i++) e += xs[n * 3 + i] * w[o * 3 + i];
                    assertEquals(e, y[n * 2 + o], 1e-6);
                }
            }
        }
        Linear noBias = new Linear(3, 2, false);
        assertNull(noBias.bias());
        assertEquals(1, noBias.namedParameters().size());
        l.close();
        noBias.close();
    }

    @Test
    void pytorchDefaultInitBoundsAndDeterminism() {
        Linear a = new Linear(64, 32, true, new Init(9)), b = new Linear(64, 32, true, new Init(9)), c = new Linear(64, 32, true, new Init(10));
        assertArrayEquals(a.weight().toFloatArray(), b.weight().toFloatArray());
        assertFalse(java.util.Arrays.equals(a.weight().toFloatArray(), c.weight().toFloatArray()));
        double bound = 1 / Math.sqrt(64); // kaiming_uniform(a=sqrt 5) and the bias both give 1/sqrt(fan_in)
        double max = 0;
        for (float v : a.weight().toFloatArray()) max = Math.max(max, Math.abs(v));
        assertTrue(max <= bound && max > 0.9 * bound, "weight range " + max + " vs bound " + bound);
        for (float v : a.bias().toFloatArray()) assertTrue(Math.abs(v) <= bound);

        Tensor w = Init.empty(200, 300);
        new Init(1).xavierUniform(w);
        double xb = Math.sqrt(6.0 / 500), m = 0;
        for (float v : w.toFloatArray()) m = Math.max(m, Math.abs(v));
        assertTrue(m <= xb && m > 0.99 * xb, "xavier range " + m + " vs " + xb);
        assertEquals(3 * 5 * 5, Init.fanIn(new int[]{8, 3, 5, 5}));
        assertEquals(8 * 5 * 5, Init.fanOut(new int[]{8, 3, 5, 5}));
        w.close(); a.close(); b.close(); c.close();
    }

    @Test
    void embeddingLooksUpRows() {
        Embedding e = new Embedding(10, 4, new Init(3));
        double sum = 0, sq = 0;
        float[] w = e.weight().toFloatArray();
        for (float v : w) { sum += v; sq += v * v; }
        assertTrue(Math.abs(sum / w.length) < 0.5 && Math.abs(sq / w.length - 1) < 0.6, "roughly N(0, 1)");
        try (MemoryScope s = MemoryScope.open()) {
            Tensor out = e.forward(Tensor.ofLongs(new long[]{7, 0, 7}, 1, 3));
            assertArrayEquals(new int[]{1, 3, 4}, out.shape());
            float[] o = out.toFloatArray();
            for (int j = 0; j < 4; j++) {
                assertEquals(w[7 * 4 + j], o[j]);
                assertEquals(w[j], o[4 + j]);
                assertEquals(w[7 * 4 + j], o[8 + j]);
            }
        }
        assertEquals(java.util.List.of("weight"), java.util.List.copyOf(e.stateDict().keySet()));
        e.close();
    }

    @Test
    void dropoutMasksDifferPerCallAndRepeatFromTheSeed() {
        Dropout d1 = new Dropout(0.5, new Init(7)), d2 = new Dropout(0.5, new Init(7));
        try (MemoryScope s = MemoryScope.open()) {
            Tensor x = Creation.ones(DType.F32, 1000);
            float[] a = d1.forward(x).toFloatArray(), b = d1.forward(x).toFloatArray(), c = d2.forward(x).toFloatArray();
            assertFalse(java.util.Arrays.equals(a, b), "a new mask each call");
            assertArrayEquals(a, c, "same seed, same first mask");
            int zeros = 0;
            for (float v : a) {
                assertTrue(v == 0 || v == 2f);
                if (v == 0) zeros++;
            }
            assertTrue(zeros > 400 && zeros < 600, "about half dropped: " + zeros);
            d1.eval();
            assertArrayEquals(x.toFloatArray(), d1.forward(x).toFloatArray(), "identity in eval mode");
            assertEquals(2, d1.calls());
        }
    }

    @Test
    void dropoutDrawsItsSeedsThroughHostSeedsWithItsCounterRule() {
        // what a CUDA graph capture records: each training-mode call's seed and the rule that draws the next one
        Dropout d = new Dropout(0.5, new Init(3)), twin = new Dropout(0.5, new Init(3));
        java.util.List<Long> seeds = new java.util.ArrayList<>();
        java.util.List<java.util.function.LongSupplier> rules = new java.util.ArrayList<>();
        HostSeeds.Recorder before = HostSeeds.record((seed, next) -> {
            seeds.add(seed);
            rules.add(next);
        });
        try (MemoryScope s = MemoryScope.open()) {
            Tensor x = Creation.ones(DType.F32, 64);
            d.forward(x);
            d.forward(x);
            d.eval();
            d.forward(x);
        } finally {
            HostSeeds.record(before);
        }
        assertEquals(java.util.List.of(d.seedOfCall(1), d.seedOfCall(2)), seeds, "one draw per training-mode call, none in eval mode");
        assertEquals(twin.seedOfCall(2), d.seedOfCall(2), "seeds come from the base seed and the call number");
        assertEquals(d.seedOfCall(3), rules.get(1).getAsLong(), "a recorded rule draws the next call's seed");
        assertEquals(3, d.calls(), "and counts the call");
        try (MemoryScope s = MemoryScope.open()) {
            twin.forward(Creation.ones(DType.F32, 8));
            assertEquals(twin.seedOfCall(1), HostSeeds.draw(() -> twin.seedOfCall(1)), "without a recorder a draw is the rule's value");
        }
    }

    @Test
    void activations() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor x = Tensor.of(new double[]{-1, 0, 2}, 3);
            assertArrayEquals(new double[]{0, 0, 2}, new ReLU().forward(x).toDoubleArray(), 0);
            double[] g = new GELU().forward(x).toDoubleArray();
            assertEquals(2 * 0.5 * (1 + 0.9544997361036416), g[2], 1e-12); // erf(sqrt 2)
            double[] q = new QuickGELU().forward(x).toDoubleArray();
            assertEquals(-1 / (1 + Math.exp(1.702)), q[0], 1e-12);
            assertArrayEquals(x.toDoubleArray(), new Identity().forward(x).toDoubleArray(), 0);
        }
    }
}
