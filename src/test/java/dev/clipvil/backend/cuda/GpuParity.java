package dev.clipvil.backend.cuda;

import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.backend.cpu.CpuBackend;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Helpers of the GPU parity tests: the same random inputs on both backends with the same view
 * layout (contiguous, transposed, narrowed), and a comparison that fails on any NaN the CPU did not
 * produce and on a normwise relative error above the tolerance. New device memory is poisoned with
 * NaN ({@link CudaMemory#setPoison}) so unwritten outputs show.
 */
final class GpuParity {
    static final Device GPU = Device.cuda(0);
    static final double F32 = 1e-5, TF32 = 5e-3, BF16 = 2e-2;

    private GpuParity() {}

    static Backend gpu() { return Backends.of(GPU); }

    static Backend cpu() { return CpuBackend.get(); }

    /** A CPU tensor and its device twin with the same shape, strides and offset. */
    record Pair(Tensor cpu, Tensor gpu) implements AutoCloseable {
        int[] shape() { return cpu.shape(); }

        Pair view(int[] shape, int[] strides, int offset) {
            return new Pair(cpu.asStrided(shape, strides, offset), gpu.asStrided(shape, strides, offset));
        }

        /** The last two dims swapped (a non-contiguous view). */
        Pair transposed() {
            int[] s = cpu.shape(), st = cpu.strides();
            int r = s.length;
            swap(s, r - 1, r - 2);
            swap(st, r - 1, r - 2);
            return view(s, st, cpu.offset());
        }

        @Override
        public void close() {
            cpu.close();
            gpu.close();
        }
    }

    private static void swap(int[] a, int i, int j) {
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }

    static Pair upload(Tensor cpu) {
        Tensor g = CudaTransfer.toDevice(cpu, GPU);
        Tensor gv = g.asStrided(cpu.shape(), cpu.strides(), cpu.offset());
        g.close();
        return new Pair(cpu, gv);
    }

    /** Uniform values in [lo, hi). */
    static Pair rand(long seed, double lo, double hi, int... shape) {
        Tensor t = Tensor.empty(DType.F32, shape);
        cpu().fillUniform(t, lo, hi, seed);
        return upload(t);
    }

    static Pair randn(long seed, int... shape) {
        Tensor t = Tensor.empty(DType.F32, shape);
        cpu().fillNormal(t, 0, 1, seed);
        return upload(t);
    }

    /** A [shape] view whose last two dims are the transpose of a fresh contiguous tensor. */
    static Pair randnT(long seed, int... shape) {
        int[] s = shape.clone();
        swap(s, s.length - 1, s.length - 2);
        try (Pair base = randn(seed, s)) {
            return base.transposed();
        }
    }

    /** A [shape] view narrowed out of a bigger tensor (offset 1 row, 2 columns in): strided rows, non-zero offset. */
    static Pair randnNarrow(long seed, int... shape) {
        int[] big = shape.clone();
        int r = big.length;
        big[r - 1] += 3;
        if (r >= 2) big[r - 2] += 1;
        try (Pair base = randn(seed, big)) {
            int[] st = base.cpu.strides();
            int off = (r >= 2 ? st[r - 2] : 0) + 2 * st[r - 1];
            return base.view(shape, st, off);
        }
    }

    /** The pair in BF16: the device holds BF16, the CPU the same values widened to F32 (its compute type). */
    static Pair bf16(Pair p) {
        try (Tensor b = cpu().cast(p.cpu(), DType.BF16)) {
            Tensor wide = cpu().cast(b, DType.F32);
            Tensor dev = CudaTransfer.toDevice(b, GPU);
            return new Pair(wide, dev);
        }
    }

    /** Fails on a shape difference, a NaN the reference lacks, or normwise relative error above {@code tol}. */
    static void assertClose(String what, Tensor gpuOut, Tensor cpuRef, double tol) {
        assertEquals(GPU, gpuOut.device(), what + ": output device");
        assertArrayEquals(cpuRef.shape(), gpuOut.shape(), what + ": shape " + Shapes.str(gpuOut.shape()) + " vs " + Shapes.str(cpuRef.shape()));
        double[] g = gpuOut.toDoubleArray(), c = cpuRef.toDoubleArray();
        double maxErr = 0, maxRef = 0;
        for (int i = 0; i < c.length; i++) {
            if (Double.isNaN(c[i])) {
                assertTrue(Double.isNaN(g[i]), what + ": element " + i + " is " + g[i] + ", reference NaN");
                continue;
            }
            assertFalse(Double.isNaN(g[i]), what + ": NaN at element " + i + " (reference " + c[i] + ")");
            if (Double.isInfinite(c[i])) {
                assertEquals(c[i], g[i], what + ": element " + i);
                continue;
            }
            maxErr = Math.max(maxErr, Math.abs(g[i] - c[i]));
            maxRef = Math.max(maxRef, Math.abs(c[i]));
        }
        double rel = maxErr / Math.max(maxRef, 1e-30);
        assertTrue(maxErr == 0 || rel <= tol, what + ": relative error " + rel + " > " + tol + " (max abs error " + maxErr + ", max |ref| " + maxRef + ")");
    }

    /** Exact equality (integers, masks, copies). */
    static void assertSame(String what, Tensor gpuOut, Tensor cpuRef) {
        assertArrayEquals(cpuRef.shape(), gpuOut.shape(), what + ": shape");
        assertEquals(gpuOut.dtype(), cpuRef.dtype(), what + ": dtype");
        if (cpuRef.dtype().isFloating()) assertArrayEquals(cpuRef.toDoubleArray(), gpuOut.toDoubleArray(), what);
        else assertArrayEquals(cpuRef.toLongArray(), gpuOut.toLongArray(), what + ": " + Arrays.toString(Arrays.copyOf(gpuOut.toLongArray(), Math.min(8, gpuOut.numel()))));
    }

    static void close(Tensor... ts) {
        for (Tensor t : ts) if (t != null) t.close();
    }
}
