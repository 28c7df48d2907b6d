package dev.clipvil.autograd;

import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Reductions;
import dev.clipvil.ops.Views;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AutogradTest {

    @Test
    void gradientsAccumulateAcrossBackwardCalls() {
        Tensor x = Tensor.of(new float[]{1, 2, 3}, 3).requiresGrad(true);
        for (int i = 0; i < 2; i++) {
            try (MemoryScope s = MemoryScope.open()) {
                Autograd.backward(Reductions.sum(Elementwise.mul(x, x)));
            }
        }
        assertArrayEquals(new float[]{4, 8, 12}, x.grad().toFloatArray());
        x.zeroGrad();
        assertNull(x.grad());
        x.close();
    }

    @Test
    void sharedInputsGetSummedGradients() {
        Tensor x = Tensor.of(new float[]{2}, 1).requiresGrad(true);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor y = Elementwise.add(Elementwise.mul(x, x), Elementwise.mul(x, 3.0)); // x^2 + 3x
            Tensor z = Elementwise.mul(y, y);                                           // (x^2+3x)^2
            Autograd.backward(Reductions.sum(z));
        }
        // d/dx (x^2+3x)^2 = 2 (x^2+3x)(2x+3) = 2 * 10 * 7
        assertEquals(140f, x.grad().toFloatArray()[0], 1e-4);
        x.close();
    }

    /**
     * A leaf's first gradient is taken over without a copy only when nothing else can see it: a rule
     * that returns one fresh tensor for two leaves still gives each its own grad (a later in-place
     * accumulation into one must not show in the other), and a caller's seed is never taken.
     */
    @Test
    void takenGradientsNeverAlias() {
        Tensor a = Tensor.of(new float[]{1, 2}, 2).requiresGrad(true), b = Tensor.of(new float[]{3, 4}, 2).requiresGrad(true);
        try (MemoryScope s = MemoryScope.open()) {
            // out = a + b, backward hands the same fresh tensor (2 * g) to both inputs
            Tensor out = Autograd.record("twice", Tensor.of(new float[]{4, 6}, 2), new Tensor[]{a, b}, null, (g, sv) -> {
                Tensor t = Elementwise.mul(g, 2.0);
                return new Tensor[]{t, t};
            });
            // a is used once more: its grad gets a second contribution added in place
            Tensor loss = Reductions.sum(Elementwise.add(out, Elementwise.mul(a, 10.0)));
            Autograd.backward(loss);
        }
        assertArrayEquals(new float[]{12, 12}, a.grad().toFloatArray());
        assertArrayEquals(new float[]{2, 2}, b.grad().toFloatArray());

        // a fresh gradient of the leaf's shape becomes its grad, and stays valid after the step's scope closes
        Tensor w = Tensor.of(new float[]{1, 2, 3}, 3).requiresGrad(true);
        try (MemoryScope s = MemoryScope.open()) {
            Autograd.backward(Reductions.sum(Elementwise.mul(w, w)));
        }
        assertArrayEquals(new float[]{2, 4, 6}, w.grad().toFloatArray());

        // the root is the leaf: the caller's gradient is copied, so closing it leaves the grad intact
        Tensor leaf = Tensor.of(new float[]{5, 6}, 2).requiresGrad(true);
        Tensor seed = Tensor.of(new float[]{0.5f, 0.25f}, 2);
        Autograd.backward(leaf, seed);
        seed.close();
        assertArrayEquals(new float[]{0.5f, 0.25f}, leaf.grad().toFloatArray());
        for (Tensor t : new Tensor[]{a, b, w, leaf}) t.close();
    }

    @Test
    void noGradModeRecordsNothing() {
        Tensor x = Tensor.of(new float[]{1, 2}, 2).requiresGrad(true);
        try (MemoryScope s = MemoryScope.open(); GradMode.Guard g = GradMode.noGrad()) {
            Tensor y = Elementwise.exp(x);
            assertNull(y.gradFn());
            assertThrows(IllegalStateException.class, () -> Autograd.backward(Reductions.sum(y)));
        }
        assertTrue(GradMode.isEnabled());
        x.close();
    }

    @Test
    void detachCutsTheGraph() {
        Tensor x = Tensor.of(new float[]{1, 2}, 2).requiresGrad(true);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor d = Views.detach(Elementwise.mul(x, 5.0));
            Tensor y = Elementwise.add(Elementwise.mul(d, x), x);      // d * x + x, with d constant
            Autograd.backward(Reductions.sum(y));
        }
        assertArrayEquals(new float[]{6, 11}, x.grad().toFloatArray());
        x.close();
    }

    @Test
    void savedTensorsAreReleasedAfterBackward() {
        Tensor x = Tensor.of(new float[]{1, 2}, 2).requiresGrad(true);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor y = Elementwise.tanh(x);
            Node n = (Node) y.gradFn();
            assertEquals(2, n.savedCount());
            Tensor loss = Reductions.sum(y);
            Autograd.backward(loss);
            assertTrue(n.isReleased());
            assertEquals(0, n.savedCount());
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Autograd.backward(loss));
            assertTrue(e.getMessage().contains("second time"), e.getMessage());
        }
        x.close();
    }

    @Test
    void backwardChecksItsArguments() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor x = Tensor.of(new float[]{1, 2}, 2).requiresGrad(true);
            Tensor y = Elementwise.exp(x);
            assertThrows(dev.clipvil.tensor.ShapeException.class, () -> Autograd.backward(y));
            assertThrows(dev.clipvil.tensor.DTypeException.class, () -> Creation.zeros(DType.I64, 2).requiresGrad(true));
        }
    }

    @Test
    void intermediateGradientsAreFreedDuringBackward() {
        Tensor w = Creation.ones(256, 256).requiresGrad(true);
        long base;
        try (MemoryScope s = MemoryScope.open()) {
            Tensor h = w;
            for (int i = 0; i < 20; i++) h = Elementwise.tanh(h);
            Tensor loss = Reductions.sum(h);
            base = dev.clipvil.tensor.HostMemory.get().inUseBytes();
            dev.clipvil.tensor.HostMemory.get().resetPeak();
            Autograd.backward(loss);
            long peak = dev.clipvil.tensor.HostMemory.get().peakBytes() - base;
            // the 20 intermediate gradients of 256 KiB each are freed as backward proceeds
            assertTrue(peak < 8 * 256 * 256 * 4, "backward peak " + peak + " bytes");
        }
        w.close();
    }
}
