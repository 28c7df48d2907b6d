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
