package dev.clipvil.backend.cpu;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.Arrays;

/**
 * Batched GEMM: shape checks, batch broadcasting and routing. Operands are read in place through
 * their strides (transposed and narrowed views cost no copy); F32 runs the blocked, vectorised
 * {@link GemmF32}, F64 the simple {@link GemmF64}. When B is the same matrix for every batch and A's
 * batch and row dims fold into one, the batch becomes one tall GEMM.
 */
final class CpuGemm {
    private CpuGemm() {}

    /** Below this many multiply-adds per batch entry, batch entries run in parallel, one per task. */
    private static final long SMALL_BATCH_FMAS = 1L << 21;

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
            if (bias.dim() != 1 || bias.shape(0) != n) {
                throw new ShapeException("matmul: bias must be [" + n + "] for " + Shapes.str(a.shape()) + " x " + Shapes.str(b.shape()) + ", got " + Shapes.str(bias.shape()));
            }
        }
        int[] batch = Shapes.broadcast("matmul", Arrays.copyOf(a.shape(), a.dim() - 2), Arrays.copyOf(b.shape(), b.dim() - 2));
        int[] outShape = Arrays.copyOf(batch, batch.length + 2);
        outShape[batch.length] = m;
        outShape[batch.length + 1] = n;
        Tensor out = Tensor.empty(a.dtype(), outShape);
        if (out.numel() == 0) return out;
        Layout la = Layout.of(a, batch), lb = Layout.of(b, batch);
        int batches = Shapes.numel(batch);
        int rowsFolded = la.foldedRowStride(m);
        if (batches > 1 && lb.isShared() && rowsFolded != Integer.MIN_VALUE) {
            // one tall GEMM: [batches*m, k] x [k, n]
            la = new Layout(new int[0], new int[0], a.offset(), rowsFolded, la.colStride);
            lb = new Layout(new int[0], new int[0], lb.offset, lb.rowStride, lb.colStride);
            m *= batches;
            batches = 1;
            batch = new int[0];
        }
        if (a.dtype() == DType.F32) runF32(a, b, bias, out, la, lb, batch, batches, m, n, k);
        else runF64(a, b, bias, out, la, lb, batch, batches, m, n, k);
        return out;
    }

    private static void runF32(Tensor a, Tensor b, Tensor bias, Tensor out, Layout la, Layout lb, int[] batch,
                               int batches, int m, int n, int k) {
        float[] x = Cpu.f32(a), y = Cpu.f32(b), o = Cpu.f32(out);
        float[] bv = null;
        int bvo = 0;
        if (bias != null) {
            if (bias.stride(0) == 1) {
                bv = Cpu.f32(bias);
                bvo = bias.offset();
            } else {
                bv = bias.toFloatArray();
            }
        }
        float[] biasArr = bv;
        int biasOff = bvo;
        long fmas = (long) m * n * k;
        Parallel.RangeBody body = (b0, b1) -> {
            boolean inner = b1 - b0 == batches; // only one task: let the GEMM itself go parallel
            for (int t = b0; t < b1; t++) {
                PanelSource pa = new StridedPanels(x, la.offset(batch, t), la.rowStride, la.colStride);
                PanelSource pb = new StridedPanels(y, lb.offset(batch, t), lb.colStride, lb.rowStride);
                GemmF32.Output dst = new GemmF32.Output(o, t * m * n, n, false, biasArr, biasOff, null, 0);
                GemmF32.gemm(m, n, k, pa, pb, dst, inner);
            }
        };
        if (batches > 1 && fmas < SMALL_BATCH_FMAS) {
            Parallel.forRange(batches, (int) Math.max(1, (SMALL_BATCH_FMAS / 8) / Math.max(1, fmas)), body);
        } else {
            body.run(0, batches);
        }
    }

    private static void runF64(Tensor a, Tensor b, Tensor bias, Tensor out, Layout la, Layout lb, int[] batch,
                               int batches, int m, int n, int k) {
        double[] x = Cpu.f64(a), y = Cpu.f64(b), o = Cpu.f64(out);
        double[] bv = bias == null ? null : Cpu.f64(bias);
        int bo = bias == null ? 0 : bias.offset(), bs = bias == null ? 0 : bias.stride(0);
        Parallel.forRange(batches * m, Math.max(1, 32768 / Math.max(1, n * Math.max(k, 1))), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int t = r / m, i = r % m;
                GemmF64.row(k, n, x, la.offset(batch, t) + i * la.rowStride, la.colStride,
                        y, lb.offset(batch, t), lb.rowStride, lb.colStride, o, r * n, bv, bo, bs);
            }
        });
    }

    /** The strides of one operand: its batch dims broadcast to the output's, and its two matrix dims. */
    private record Layout(int[] batchShape, int[] batchStrides, int offset, int rowStride, int colStride) {
        static Layout of(Tensor t, int[] batch) {
            int[] shape = t.shape(), strides = t.strides();
            int r = shape.length;
            int[] bs = new int[batch.length];
            for (int i = 0; i < batch.length; i++) {
                int j = i - (batch.length - (r - 2));
                if (j >= 0 && shape[j] != 1) bs[i] = strides[j];
            }
            return new Layout(batch, bs, t.offset(), strides[r - 2], strides[r - 1]);
        }

        int offset(int[] batch, int index) {
            int o = offset;
            for (int d = batch.length - 1; d >= 0 && index > 0; d--) {
                o += (index % batch[d]) * batchStrides[d];
                index /= batch[d];
            }
            return o;
        }

        boolean isShared() {
            for (int s : batchStrides) if (s != 0) return false;
            return true;
        }

        /**
         * The single row stride of [batch..., m] when those dims fold into one (each dim's stride is the
         * next one's stride times its size), else {@code Integer.MIN_VALUE}.
         */
        int foldedRowStride(int m) {
            int n = batchShape.length + 1;
            int[] shape = Arrays.copyOf(batchShape, n), strides = Arrays.copyOf(batchStrides, n);
            shape[n - 1] = m;
            strides[n - 1] = rowStride;
            int base = Integer.MIN_VALUE;
            long expect = 0;
            for (int d = n - 1; d >= 0; d--) {
                if (shape[d] == 1) continue;
                if (base == Integer.MIN_VALUE) {
                    base = strides[d];
                } else if (strides[d] != expect) {
                    return Integer.MIN_VALUE;
                }
                expect = (long) strides[d] * shape[d];
            }
            return base == Integer.MIN_VALUE ? rowStride : base;
        }
    }
}
