package dev.clipvil.backend;

import dev.clipvil.backend.cpu.CpuBackend;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@link Backend#matmul(Tensor, Tensor, Tensor, DType)}'s default (the CPU backend's): the plain product
 * when the output type is the operands', else the product cast to it with the bias added in that type;
 * checked against naive loops.
 */
class MatmulOutputTypeTest {
    private final Backend cpu = CpuBackend.get();

    /** Naive a [m, k] x b [k, n] + bias in double. */
    private static double[] naive(double[] a, double[] b, double[] bias, int m, int k, int n) {
        double[] c = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
                c[i * n + j] = s + (bias == null ? 0 : bias[j]);
            }
        }
        return c;
    }

    @Test
    void theDefaultCastsTheProductAndAddsTheBiasInTheOutputType() {
        try (MemoryScope s = MemoryScope.open()) {
            double[] av = new double[3 * 4], bv = new double[4 * 2];
            for (int i = 0; i < av.length; i++) av[i] = 0.25 * i - 1;
            for (int i = 0; i < bv.length; i++) bv[i] = 0.5 - 0.125 * i;
            Tensor a = Tensor.of(av, 3, 4), b = Tensor.of(bv, 4, 2);
            Tensor bias = Tensor.of(new float[]{0.5f, -2f}, 2);
            Tensor y = cpu.matmul(a, b, bias, DType.F32);
            assertEquals(DType.F32, y.dtype());
            double[] ref = naive(av, bv, new double[]{0.5, -2}, 3, 4, 2);
            float[] want = new float[ref.length];
            for (int i = 0; i < ref.length; i++) want[i] = (float) ref[i];
            assertArrayEquals(want, y.toFloatArray(), 0f, "small dyadic values: exact");
            Tensor same = cpu.matmul(cpu.cast(a, DType.F32), cpu.cast(b, DType.F32), bias, DType.F32);
            assertArrayEquals(want, same.toFloatArray(), 0f, "same type: the plain matmul");
            assertArrayEquals(new int[]{3, 2}, cpu.matmul(a, b, null, DType.F32).shape());
            assertThrows(DTypeException.class, () -> cpu.matmul(a, b, Tensor.of(new double[]{1, 2}, 2), DType.F32), "the bias has the output's type");
        }
    }
}
