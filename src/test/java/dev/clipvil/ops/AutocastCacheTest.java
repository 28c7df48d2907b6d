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
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The BF16 weight-cast cache: a parameter is lowered once per BF16 region and reused, with the same
 * values and gradients as without the cache (exactly: the copies are plain tensors, the gradient reaches
 * the F32 parameter through the op that reads it); the copies are freed when the region closes, while a
 * graph that saved one keeps it for its backward; an optimizer step clears the cache.
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
                // a linear's bias stays F32 (added in the GEMM's epilogue to the F32 result): only w is lowered
                assertEquals(1, Autocast.cachedCasts(), "w, lowered once");
            }
            // a second batch in the same region reuses the copies that outlived the first batch's scope
            try (MemoryScope s = MemoryScope.open()) {
                second = twice(x).toFloatArray();
                assertEquals(1, Autocast.cachedCasts());
            }
            try (Autocast.Guard inner = Autocast.bf16()) {
                assertEquals(1, Autocast.cachedCasts(), "a nested region shares the cache");
            }
            assertEquals(1, Autocast.cachedCasts(), "closing a nested region keeps it");
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
        // each linear hands w its F32 gradient straight from its GEMM, cached copy or not: equal bits
        // (with the copies as graph nodes, one shared copy rounded the summed gradient through BF16)
        assertArrayEquals(uncached[0], cached[0], 0f, "grad w");
        assertArrayEquals(uncached[1], cached[1], 0f, "grad b");
        x.close();
    }

    @Test
    void aConvolutionsCachedWeightGivesTheSameGradientsAsAFreshCast() {
        Tensor cw = AutocastTest.in(9, 2, 2, 3, 3);
        Tensor x = Creation.randn(10, DType.F32, 1, 2, 6, 6);
        java.util.function.Function<Boolean, float[]> run = clear -> {
            cw.zeroGrad();
            try (MemoryScope s = MemoryScope.open()) {
                Tensor y;
                try (Autocast.Guard a = Autocast.bf16()) {
                    Tensor h = Convolution.conv2d(x, cw, null, dev.clipvil.backend.Conv2dParams.of(1, 1));
                    if (clear) Autocast.clearCache();
                    else assertEquals(1, Autocast.cachedCasts());
                    y = Convolution.conv2d(h, cw, null, dev.clipvil.backend.Conv2dParams.of(1, 1));
                }
                Autograd.backward(Reductions.sum(Elementwise.mul(y, y)));
                return cw.grad().toFloatArray();
            }
        };
        // a conv reads the cached copy through a recorded cast of its own (each read's BF16 gradient widened)
        assertArrayEquals(run.apply(true), run.apply(false), 0f);
        cw.close();
        x.close();
    }

    @Test
    void aGraphKeepsItsCachedCopyPastTheRegionForBackward() {
        Tensor x = Creation.randn(11, DType.F32, 3, 5);
        w.zeroGrad();
        long before = HostMemory.get().inUseBytes();
        try (MemoryScope s = MemoryScope.open()) {
            Tensor y;
            try (Autocast.Guard a = Autocast.bf16()) {
                y = Linear.linear(x, w, b);
            }
            assertEquals(0, Autocast.cachedCasts(), "the region closed: the cache let its copy go");
            Autograd.backward(Reductions.sum(y)); // reads the saved lowered weight
            assertNotNull(w.grad());
            w.grad().close();
            w.zeroGrad();
            b.zeroGrad();
        }
        assertEquals(before, HostMemory.get().inUseBytes(), "the graph's handle on the copy went with its scope");
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
    void backwardInsideTheRegionReusesTheCopyAndAccumulates() {
        Tensor x = Creation.randn(5, DType.F32, 3, 5);
        w.zeroGrad();
        float[] once;
        try (MemoryScope s = MemoryScope.open(); Autocast.Guard a = Autocast.bf16()) {
            Autograd.backward(Reductions.sum(Linear.linear(x, w, b)));
            once = w.grad().toFloatArray();
            // gradient accumulation: a second forward and backward in the same region, from the same copy
            Autograd.backward(Reductions.sum(Linear.linear(x, w, b)));
            assertEquals(1, Autocast.cachedCasts());
        }
        float[] acc = w.grad().toFloatArray();
        for (int i = 0; i < once.length; i++) assertEquals(2 * once[i], acc[i], 0f, "element " + i);
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
