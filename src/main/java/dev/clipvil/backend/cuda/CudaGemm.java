package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.FloatPointer;

import java.util.Arrays;

/**
 * Batched GEMM through {@code cublasGemmStridedBatchedEx}. Row-major C = A B is run as the
 * column-major C^T = B^T A^T, so a row-major operand goes in untransposed and a transposed view
 * (column-major) with CUBLAS_OP_T: neither is copied. An operand is made contiguous only when its
 * matrix has no unit stride or its broadcast batch dims do not fold into one stride. F32 runs with
 * strict F32 math unless TF32 is allowed ({@link #allowTf32}); BF16/F16 take F32 accumulation. A bias
 * is broadcast into C first and added with beta = 1.
 */
final class CudaGemm {
    private static volatile boolean tf32 = "1".equals(System.getenv("CLIPVIL_TF32")) || Boolean.getBoolean("clipvil.tf32");

    private CudaGemm() {}

    /** Lets F32 GEMMs use TF32 tensor cores (about 1e-3 relative error; PyTorch's allow_tf32). */
    static void allowTf32(boolean allow) { tf32 = allow; }

    static boolean tf32() { return tf32; }

    /** How cuBLAS reads one operand: base address, transposed or not, leading dimension, batch stride. */
    record Operand(Tensor t, boolean copied, boolean colMajor, int ld, long batchStride) {}

    /**
     * The layout of matrix operand {@code x} [..., r, c] broadcast to {@code batch}, or null when it
     * needs a contiguous copy first. Pure arithmetic (tested on the CPU).
     */
    static int[] layout(int[] shape, int[] strides, int[] batch) {
        int rank = shape.length;
        int r = shape[rank - 2], c = shape[rank - 1];
        int sr = strides[rank - 2], sc = strides[rank - 1];
        int colMajor, ld;
        if ((c == 1 || sc == 1) && (r == 1 || sr >= Math.max(1, c))) {
            colMajor = 0;
            ld = r == 1 ? Math.max(1, c) : sr;
        } else if ((r == 1 || sr == 1) && (c == 1 || sc >= Math.max(1, r))) {
            colMajor = 1;
            ld = c == 1 ? Math.max(1, r) : sc;
        } else {
            return null;
        }
        // batch strides broadcast to `batch`, folded into one
        int nb = rank - 2;
        long fold = 0;
        long expect = -1; // stride the next outer dim must have (as t walks the flattened batch)
        boolean allZero = true, ok = true;
        long span = 1;
        for (int i = batch.length - 1; i >= 0; i--) {
            int j = i - (batch.length - nb);
            int size = batch[i];
            int st = j < 0 || shape[j] == 1 ? 0 : strides[j];
            if (j >= 0 && shape[j] != 1 && shape[j] != size) return null;
            if (size == 1) continue;
            if (st != 0) allZero = false;
            if (expect < 0) {
                fold = st;
                expect = (long) st * size;
            } else {
                if (st != expect) ok = false;
                expect = (long) st * size;
            }
            span *= size;
        }
        if (allZero) return new int[]{colMajor, ld, 0, 0};
        if (!ok) return null;
        if (fold > Integer.MAX_VALUE) return null;
        return new int[]{colMajor, ld, (int) fold, 1};
    }

    private static Operand operand(CudaContext ctx, Tensor x, int[] batch) {
        int[] l = layout(x.shape(), x.strides(), batch);
        if (l != null) return new Operand(x, false, l[0] == 1, l[1], l[2]);
        // materialise [batch..., r, c] contiguous
        int[] full = Arrays.copyOf(batch, batch.length + 2);
        full[batch.length] = x.shape(-2);
        full[batch.length + 1] = x.shape(-1);
        Tensor c = CudaOps.empty(ctx, x.dtype(), full);
        CudaCopy.copy(ctx, x, c);
        int[] l2 = layout(c.shape(), c.strides(), batch);
        return new Operand(c, true, false, l2[1], l2[2]);
    }

    private static int cudaType(DType t) {
        switch (t) {
            case F32: return cudart.CUDA_R_32F;
            case BF16: return cudart.CUDA_R_16BF;
            case F16: return cudart.CUDA_R_16F;
            default: throw new AssertionError(t);
        }
    }

    static Tensor matmul(CudaContext ctx, Tensor a, Tensor b, Tensor bias) {
        CudaOps.requireOn(ctx, "matmul", a, b, bias);
        DTypes.requireFloat("matmul", a.dtype());
        CudaElementwise.sameDType("matmul", a, b);
        if (a.dim() < 2 || b.dim() < 2) {
            throw new ShapeException("matmul: operands need rank >= 2, got " + Shapes.str(a.shape()) + " and " + Shapes.str(b.shape()));
        }
        int m = a.shape(-2), k = a.shape(-1), k2 = b.shape(-2), n = b.shape(-1);
        if (k != k2) throw new ShapeException("matmul: inner dimensions differ: " + Shapes.str(a.shape()) + " x " + Shapes.str(b.shape()));
        if (bias != null) {
            CudaElementwise.sameDType("matmul", a, bias);
            if (bias.dim() != 1 || bias.shape(0) != n) {
                throw new ShapeException("matmul: bias must be [" + n + "] for " + Shapes.str(a.shape()) + " x " + Shapes.str(b.shape())
                        + ", got " + Shapes.str(bias.shape()));
            }
        }
        int[] batch = Shapes.broadcast("matmul", Arrays.copyOf(a.shape(), a.dim() - 2), Arrays.copyOf(b.shape(), b.dim() - 2));
        int[] outShape = Arrays.copyOf(batch, batch.length + 2);
        outShape[batch.length] = m;
        outShape[batch.length + 1] = n;
        Tensor out = CudaOps.empty(ctx, a.dtype(), outShape);
        if (out.numel() == 0) return out;
        if (bias != null) CudaCopy.copy(ctx, bias, out);
        if (k == 0) {
            if (bias == null) CudaCopy.fill(ctx, out, 0);
            return out;
        }
        Operand oa = operand(ctx, a, batch), ob = operand(ctx, b, batch);
        try {
            gemm(ctx, oa, ob, out, m, n, k, Shapes.numel(batch), bias != null);
        } finally {
            if (oa.copied()) oa.t().close();
            if (ob.copied()) ob.t().close();
        }
        return out;
    }

    private static final ThreadLocal<FloatPointer[]> SCALARS = ThreadLocal.withInitial(() -> new FloatPointer[]{new FloatPointer(1f), new FloatPointer(0f), new FloatPointer(1f)});

    private static void gemm(CudaContext ctx, Operand oa, Operand ob, Tensor out, int m, int n, int k, int batches, boolean accumulate) {
        int type = cudaType(out.dtype());
        int compute = out.dtype() == DType.F32 && tf32 ? cublas.CUBLAS_COMPUTE_32F_FAST_TF32 : cublas.CUBLAS_COMPUTE_32F;
        if (ctx.dryRun()) {
            DryRun.gemm(out.dtype(), oa.ld(), ob.ld(), m, n, k, batches);
            return;
        }
        FloatPointer[] s = SCALARS.get();
        // column-major: C^T [n x m] = op(B) [n x k] * op(A) [k x m]
        int transB = ob.colMajor() ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N;
        int transA = oa.colMajor() ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N;
        synchronized (ctx) {
            ctx.makeCurrent();
            int st = cublas.cublasGemmStridedBatchedEx(ctx.cublas(), transB, transA, n, m, k, s[0],
                    new RawPointer(CudaOps.addr(ob.t())), type, ob.ld(), ob.batchStride(),
                    new RawPointer(CudaOps.addr(oa.t())), type, oa.ld(), oa.batchStride(),
                    accumulate ? s[2] : s[1], new RawPointer(CudaOps.addr(out)), type, n, (long) m * n, batches, compute, cublas.CUBLAS_GEMM_DEFAULT);
            if (st != 0) {
                CudaCheck.blas(st, "cublasGemmStridedBatchedEx(" + out.dtype() + " m=" + n + " n=" + m + " k=" + k + " batch=" + batches
                        + " lda=" + ob.ld() + " ldb=" + oa.ld() + (transB == cublas.CUBLAS_OP_T ? " A^T" : "") + (transA == cublas.CUBLAS_OP_T ? " B^T" : "") + ")");
            }
        }
        if (KernelLaunch.SYNC) ctx.synchronize();
    }
}
