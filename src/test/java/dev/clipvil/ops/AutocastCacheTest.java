package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.autograd.GradMode;
import dev.clipvil.optim.SGD;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.HostMemory;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The BF16 weight-cast cache: a parameter is lowered once per BF16 region and reused, with the same
 * values and gradients as without the cache; copies made with grad off are freed when the region
 * closes; a graph that backward has run through is not reused; an optimizer step clears the cache.
 */
class AutocastCacheTest {
    private final Tensor w = AutocastTest.in(1, 6, 5), b = AutocastTest.in(2, 6);

    @AfterEach
    void free() {
        w.close();
        b.close();
    }

    /** y = linear(linear(x, w, b)[:, :5], w, b): the same weight read twice in one forward. */
    private Tensor twice(Tensor x) {
        Tensor h = Linear.linear(x, w, b);
        return Linear.linear(Views.narrow(h, 1, 0, 5), w, b);
    }

    @Test
    void aWeightIsLoweredOncePerRegionAndFreedWithIt() {
        Tensor x = Creation.randn(3, DType.F32, 4, 5);
        float[] fresh;
        try (GradMode.Guard g = GradMode.noGrad(); MemoryScope s = MemoryScope.open()) {
            // reference: each read lowers the weight anew (cache cleared between the two linears)
            try (Autocast.Guard a = Autocast.bf16()) {
                Tensor h = Linear.linear(x, w, b);
                Autocast.clearCache();
                fresh = Linear.linear(Views.narrow(h, 1, 0, 5), w, b).toFloatArray();
            }
        }
        long before = HostMemory.get().inUseBytes();
        float[] first, second;
        try (GradMode.Guard g = GradMode.noGrad(); Autocast.Guard a = Autocast.bf16()) {
            try (MemoryScope s = MemoryScope.open()) {
                first = twice(x).toFloatArray();
                assertEquals(2, Autocast.cachedCasts(), "w and b, each lowered once");
            }
            // a second batch in the same region reuses the copies that outlived the first batch's scope
            try (MemoryScope s = MemoryScope.open()) {
                second = twice(x).toFloatArray();
                assertEquals(2, Autocast.cachedCasts());
            }
            try (Autocast.Guard inner = Autocast.bf16()) {
                assertEquals(2, Autocast.cachedCasts(), "a nested region shares the cache");
            }
            assertEquals(2, Autocast.cachedCasts(), "closing a nested region keeps it");
        }
        assertEquals(0, Autocast.cachedCasts());
        assertEquals(before, HostMemory.get().inUseBytes(), "the cache's copies are freed with the outermost region");
        assertArrayEquals(fresh, first, 0f);
        assertArrayEquals(fresh, second, 0f);
        x.close();
    }

    @Test
    void gradientsThroughACachedCopyEqualThoseWithoutIt() {
        Tensor x = Creation.randn(4, DType.F32, 4, 5);
        float[][] uncached = grads(() -> {
            Tensor h = Linear.linear(x, w, b);
            Autocast.clearCache();
            return Linear.linear(Views.narrow(h, 1, 0, 5), w, b);
        });
        float[][] cached = grads(() -> twice(x));
        // one shared copy sums the two reads' gradients before the cast's backward rounds them through
        // BF16 (as PyTorch's cache does); two copies round each and then sum: equal to BF16 precision
        for (int k = 0; k < 2; k++) {
            double err = AutocastTest.relErr(cached[k], uncached[k]);
            assertTrue(err < 1e-2, (k == 0 ? "grad w" : "grad b") + " differs by " + err);
        }
        x.close();
    }

    private float[][] grads(java.util.function.Supplier<Tensor> forward) {
        w.zeroGrad();
        b.zeroGrad();
        try (MemoryScope s = MemoryScope.open()) {
            Tensor y;
            try (Autocast.Guard a = Autocast.bf16()) {
                y = forward.get();
            }
            Autograd.backward(Reductions.sum(Elementwise.mul(y, y)));
            return new float[][]{w.grad().toFloatArray(), b.grad().toFloatArray()};
        }
    }

    @Test
    void backwardInsideTheRegionDoesNotReuseAReleasedGraph() {
        Tensor x = Creation.randn(5, DType.F32, 3, 5);
        w.zeroGrad();
        float[] once;
        try (MemoryScope s = MemoryScope.open(); Autocast.Guard a = Autocast.bf16()) {
            Autograd.backward(Reductions.sum(Linear.linear(x, w, b)));
            once = w.grad().toFloatArray();
            // gradient accumulation: a second forward and backward in the same region
            Autograd.backward(Reductions.sum(Linear.linear(x, w, b)));
        }
        float[] acc = w.grad().toFloatArray();
        for (int i = 0; i < once.length; i++) assertEquals(2 * once[i], acc[i], 1e-5 * Math.max(1, Math.abs(acc[i])), "element " + i);
        x.close();
    }

    @Test
    void anOptimizerStepClearsTheCache() {
        Tensor x = Creation.randn(6, DType.F32, 3, 5);
        SGD sgd = new SGD(Map.of("w", w, "b", b), 0.5);
        try (MemoryScope s = MemoryScope.open(); Autocast.Guard a = Autocast.bf16()) {
            Autograd.backward(Reductions.sum(Linear.linear(x, w, b)));
            float[] beforeStep;
            try (GradMode.Guard g = GradMode.noGrad()) {
                beforeStep = Linear.linear(x, w, b).toFloatArray();
                sgd.step();
                assertEquals(0, Autocast.cachedCasts());
                float[] after = Linear.linear(x, w, b).toFloatArray();
                Autocast.clearCache();
                assertArrayEquals(Linear.linear(x, w, b).toFloatArray(), after, 0f, "the step's new weights are used");
                assertFalse(java.util.Arrays.equals(beforeStep, after));
            }
        }
        x.close();
    }

    @Test
    void frozenWeightsAndActivationsAreNotCached() {
        Tensor frozen = Creation.randn(7, DType.F32, 6, 5);
        Tensor x = Creation.randn(8, DType.F32, 3, 5);
        try (MemoryScope s = MemoryScope.open(); Autocast.Guard a = Autocast.bf16()) {
            Linear.linear(x, frozen, null);
            assertEquals(0, Autocast.cachedCasts());
        }
        frozen.close();
        x.close();
    }
}
