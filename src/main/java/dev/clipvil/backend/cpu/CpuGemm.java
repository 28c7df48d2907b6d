package dev.clipvil.backend.cpu;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/**
 * Batched GEMM. Simple reference version (contiguous copies, i-k-j loops); the vectorised,
 * cache-blocked kernel replaces its inner routine.
 */
final class CpuGemm {
    private CpuGemm() {}

    static Tensor matmul(Tensor a, Tensor b, Tensor bias) {
        Cpu.requireCompute("matmul", a);
        Cpu.requireSameDType("matmul", a, b);
        if (a.dim() < 2 || b.dim() < 2) {
            throw new ShapeException("matmul: operands need rank >= 2, got " + Shapes.str(a.shape()) + " and " + Shapes.str(b.shape()));
        }
        int m = a.shape(-2), k = a.shape(-1), k2 = b.shape(-2), n = b.shape(-1);
        if (k != k2) throw new ShapeException("matmul: inner dimensions differ: " + Shapes.str(a.shape()) + " x " + Shapes.str(b.shape()));
        if (bias != null) {
            Cpu.requireSameDType("matmul", a, bias);
            if (bias.dim() != 1 || bias.shape(0) != n) throw new ShapeException("matmul: bias must be [" + n + "], got " + Shapes.str(bias.shape()));
        }
        int[] ab = java.util.Arrays.copyOf(a.shape(), a.dim() - 2), bb = java.util.Arrays.copyOf(b.shape(), b.dim() - 2);
        int[] batch = Shapes.broadcast("matmul", ab, bb);
        int[] outShape = java.util.Arrays.copyOf(batch, batch.length + 2);
        outShape[batch.length] = m;
        outShape[batch.length + 1] = n;
        Tensor out = Tensor.empty(a.dtype(), outShape);
        int batches = Shapes.numel(batch);
        int[] aFull = java.util.Arrays.copyOf(batch, batch.length + 2), bFull = aFull.clone();
        aFull[batch.length] = m; aFull[batch.length + 1] = k;
        bFull[batch.length] = k; bFull[batch.length + 1] = n;
        Tensor ac = Tensor.empty(a.dtype(), aFull), bc = Tensor.empty(b.dtype(), bFull);
        CpuCopy.copy(a, ac);
        CpuCopy.copy(b, bc);
        try {
            if (a.dtype() == DType.F32) {
                float[] x = Cpu.f32(ac), y = Cpu.f32(bc), o = Cpu.f32(out);
                float[] bi = bias == null ? null : Cpu.f32(Cpu.dense(bias));
                int bo = bias == null ? 0 : bias.isContiguous() ? bias.offset() : 0;
                Parallel.forRange(batches * m, Math.max(1, 65536 / Math.max(1, k * n)), (s, e) -> {
                    for (int r = s; r < e; r++) {
                        int bt = r / m, i = r % m;
                        int ob = r * n, xb = r * k, yb = bt * k * n;
                        for (int j = 0; j < n; j++) o[ob + j] = bi == null ? 0f : bi[bo + j];
                        for (int p = 0; p < k; p++) {
                            float av = x[xb + p];
                            int yr = yb + p * n;
                            for (int j = 0; j < n; j++) o[ob + j] += av * y[yr + j];
                        }
                    }
                });
            } else {
                double[] x = Cpu.f64(ac), y = Cpu.f64(bc), o = Cpu.f64(out);
                Tensor bd = bias == null ? null : Cpu.dense(bias);
                double[] bi = bd == null ? null : Cpu.f64(bd);
                int bo = bd == null ? 0 : bd.offset();
                for (int r = 0; r < batches * m; r++) {
                    int bt = r / m;
                    int ob = r * n, xb = r * k, yb = bt * k * n;
                    for (int j = 0; j < n; j++) o[ob + j] = bi == null ? 0 : bi[bo + j];
                    for (int p = 0; p < k; p++) {
                        double av = x[xb + p];
                        int yr = yb + p * n;
                        for (int j = 0; j < n; j++) o[ob + j] += av * y[yr + j];
                    }
                }
                if (bd != null) Cpu.release(bd, bias);
            }
        } finally {
            ac.close();
            bc.close();
        }
        return out;
    }
}
