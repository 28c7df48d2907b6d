package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.Backends;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GradCheck;
import org.junit.jupiter.api.Test;

import static dev.clipvil.testing.GradCheck.input;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DropoutTest {

    @Test
    void gradientIsTheMaskForAFixedSeed() {
        Tensor x = input(1, 6, 7);
        GradCheck.check("dropout", t -> Dropout.dropout(t[0], 0.4, true, 99), x);
        try (MemoryScope s = MemoryScope.open()) {
            Tensor y = Dropout.dropout(x, 0.4, true, 99);
            Autograd.backward(Reductions.sum(y));
            Tensor mask = Backends.of(x).dropoutMask(x.shape(), DType.F64, 0.4, 99);
            double[] m = mask.toDoubleArray(), xv = x.toDoubleArray(), yv = y.toDoubleArray();
            assertArrayEquals(m, x.grad().toDoubleArray(), 0.0);
            for (int i = 0; i < m.length; i++) {
                assertTrue(m[i] == 0 || Math.abs(m[i] - 1 / 0.6) < 1e-12);
                assertEquals(xv[i] * m[i], yv[i], 1e-15);
            }
            // the same seed gives the same mask, another seed another one
            assertArrayEquals(yv, Dropout.dropout(x, 0.4, true, 99).toDoubleArray(), 0.0);
            assertTrue(!java.util.Arrays.equals(yv, Dropout.dropout(x, 0.4, true, 100).toDoubleArray()));
        }
        x.zeroGrad();
    }

    @Test
    void maskKeepsTheExpectation() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor ones = Creation.ones(DType.F32, 400, 500);
            double[] y = Dropout.dropout(ones, 0.3, true, 7).toDoubleArray();
            double sum = 0;
            int zeros = 0;
            for (double v : y) { sum += v; if (v == 0) zeros++; }
            assertEquals(1.0, sum / y.length, 0.01);
            assertEquals(0.3, (double) zeros / y.length, 0.01);
        }
    }

    @Test
    void evalModeAndZeroPAreIdentities() {
        Tensor x = input(2, 3, 4);
        for (boolean training : new boolean[]{false, true}) {
            double p = training ? 0.0 : 0.5;
            try (MemoryScope s = MemoryScope.open()) {
                Tensor y = Dropout.dropout(x, p, training, 5);
                assertNotSame(x, y);
                assertArrayEquals(x.toDoubleArray(), y.toDoubleArray(), 0.0);
                assertTrue(Autograd.isRecorded(y));
                Autograd.backward(Reductions.sum(y));
            }
            assertArrayEquals(new double[12], Elementwise.add(x.grad(), -1.0).toDoubleArray(), 0.0);
            x.zeroGrad();
        }
        GradCheck.check("dropout(eval)", t -> Dropout.dropout(t[0], 0.5, false, 5), x);
    }

    @Test
    void pOneZeroesAndBadPIsRejected() {
        Tensor x = input(3, 2, 3);
        try (MemoryScope s = MemoryScope.open()) {
            assertArrayEquals(new double[6], Dropout.dropout(x, 1.0, true, 1).toDoubleArray(), 0.0);
        }
        assertThrows(IllegalArgumentException.class, () -> Dropout.dropout(x, 1.5, true, 1));
        assertThrows(IllegalArgumentException.class, () -> Dropout.dropout(x, -0.1, true, 1));
        assertThrows(IllegalArgumentException.class, () -> Dropout.dropout(x, Double.NaN, true, 1));
    }
}
