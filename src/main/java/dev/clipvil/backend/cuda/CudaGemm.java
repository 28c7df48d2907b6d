package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.FloatPointer;

import java.util.Arrays;

/**
 * Batched GEMM through cuBLASLt ({@link CudaLt}). Row-major C = A B is run as the column-major
 * C^T = B^T A^T ({@link GemmProblem}), so a row-major operand goes in untransposed and a transposed view
 * (column-major) with CUBLAS_OP_T: neither is copied. An operand is made contiguous only when its
 * matrix has no unit stride or its broadcast batch dims do not fold into one stride; a weight shared
 * by every batch of a row-major operand is folded into one GEMM of batch x m rows. F32 runs with strict
 * F32 math (CUBLAS_COMPUTE_32F) unless TF32 is allowed ({@link #allowTf32}: CUBLAS_COMPUTE_32F_FAST_TF32);
 * BF16/F16 take F32 accumulation; the scale type is F32. BF16/F16 operands may also write an F32
 * result directly (C/D CUDA_R_32F, compute 32F: the accumulator is stored without rounding to 16 bits;
 * autocast's linears use it so their F32 activations and gradients need no widening kernel). A [N] bias is added in the epilogue
 * (CUBLASLT_EPILOGUE_BIAS, the bias in the output's type, as cuBLASLt expects): no extra pass over C.
 * <p>
 * Fallback: {@code cublasGemmStridedBatchedEx} (bias broadcast into C first, added with beta = 1) runs
 * when cuBLASLt's heuristic returns no algorithm for a problem and its pointer alignments (a view whose
 * address or batch stride is only 2- or 4-byte aligned, a batch stride of 0 for a broadcast operand
 * that some cuBLASLt version refuses), or when the chosen algorithm answers CUBLAS_STATUS_NOT_SUPPORTED;
 * the plan cache remembers the refusal so the query is not repeated.
 * <p>
 * No GELU epilogue: cuBLASLt's CUBLASLT_EPILOGUE_GELU(_BIAS) is the tanh approximation, while the models
 * here use exact erf GELU (BERT, HF-format CLIP "gelu") or QuickGELU (OpenAI CLIP), and {@code
 * clip.Activation} refuses the tanh forms by design; fusing would change their numerics silently.
 * No bias-gradient epilogue (BGRADB) either: {@code Backend.matmul} returns one tensor, so the
 * weight-gradient GEMM cannot hand the bias gradient back without a new primitive.
 */
final class CudaGemm {
    private static volatile boolean tf32 = "1".equals(System.getenv("CLIPVIL_TF32")) || Boolean.getBoolean("clipvil.tf32");
    /** cuBLASLt on (default) or every GEMM through the cublasGemmStridedBatchedEx fallback (CLIPVIL_CUBLASLT=0; tests compare both). */
    private static volatile boolean lt = !"0".equals(System.getenv("CLIPVIL_CUBLASLT"));

    private CudaGemm() {}

    /** Lets F32 GEMMs use TF32 tensor cores (about 1e-3 relative error; PyTorch's allow_tf32). */
    static void allowTf32(boolean allow) { tf32 = allow; }

    static boolean tf32() { return tf32; }

    /** Routes GEMMs through cuBLASLt (true) or only the cublasGemmStridedBatchedEx fallback (false). */
    static void useLt(boolean on) { lt = on; }

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

    /** The cudaDataType of a GEMM operand dtype. */
    static int cudaType(DType t) {
        switch (t) {
            case F32: return cudart.CUDA_R_32F;
            case BF16: return cudart.CUDA_R_16BF;
            case F16: return cudart.CUDA_R_16F;
            default: throw new AssertionError(t);
        }
    }

    static Tensor matmul(CudaContext ctx, Tensor a, Tensor b, Tensor bias) { return matmul(ctx, a, b, bias, a.dtype()); }

    /**
     * a b (+ bias) with a result of dtype {@code outType}: the operands' dtype, or F32 for BF16/F16
     * operands (C/D F32 with F32 accumulation, the bias F32 as cuBLASLt takes it for an F32 output).
     */
    static Tensor matmul(CudaContext ctx, Tensor a, Tensor b, Tensor bias, DType outType) {
        CudaOps.requireOn(ctx, "matmul", a, b, bias);
        DTypes.requireFloat("matmul", a.dtype());
        CudaElementwise.sameDType("matmul", a, b);
        if (outType != a.dtype() && (outType != DType.F32 || a.dtype() == DType.F32)) {
            throw new DTypeException("matmul: a " + outType + " result of " + a.dtype() + " operands (only BF16/F16 -> F32 mixes)");
        }
        if (a.dim() < 2 || b.dim() < 2) {
            throw new ShapeException("matmul: operands need rank >= 2, got " + Shapes.str(a.shape()) + " and " + Shapes.str(b.shape()));
        }
        int m = a.shape(-2), k = a.shape(-1), k2 = b.shape(-2), n = b.shape(-1);
        if (k != k2) throw new ShapeException("matmul: inner dimensions differ: " + Shapes.str(a.shape()) + " x " + Shapes.str(b.shape()));
        if (bias != null) {
            if (bias.dtype() != outType) throw new DTypeException("matmul: bias must be " + outType + " for a " + outType + " result, got " + bias.dtype());
            if (bias.dim() != 1 || bias.shape(0) != n) {
                throw new ShapeException("matmul: bias must be [" + n + "] for " + Shapes.str(a.shape()) + " x " + Shapes.str(b.shape())
                        + ", got " + Shapes.str(bias.shape()));
            }
        }
        int[] batch = Shapes.broadcast("matmul", Arrays.copyOf(a.shape(), a.dim() - 2), Arrays.copyOf(b.shape(), b.dim() - 2));
        int[] outShape = Arrays.copyOf(batch, batch.length + 2);
        outShape[batch.length] = m;
        outShape[batch.length + 1] = n;
        Tensor out = CudaOps.empty(ctx, outType, outShape);
        if (out.numel() == 0) return out;
        if (k == 0) {
            if (bias != null) CudaCopy.copy(ctx, bias, out);
            else CudaCopy.fill(ctx, out, 0);
            return out;
        }
        Operand oa = operand(ctx, a, batch), ob = operand(ctx, b, batch);
        Tensor eb = bias == null ? null : epilogueBias(ctx, bias);
        try {
            gemm(ctx, oa, ob, out, eb, m, n, k, Shapes.numel(batch), a.dtype());
        } finally {
            if (oa.copied()) oa.t().close();
            if (ob.copied()) ob.t().close();
            if (eb != null && eb != bias) eb.close();
        }
        return out;
    }

    /** The bias as the epilogue reads it: dense and 16-byte aligned, else a copy (n elements, negligible next to the GEMM). */
    private static Tensor epilogueBias(CudaContext ctx, Tensor bias) {
        if ((bias.shape(0) == 1 || bias.stride(0) == 1) && (CudaOps.addr(bias) & 15) == 0) return bias;
        Tensor c = CudaOps.empty(ctx, bias.dtype(), bias.shape(0));
        CudaCopy.copy(ctx, bias, c);
        return c;
    }

    /**
     * The column-major problem for row-major C[batch, m, n] = a b: cuBLAS's A is {@code b} and its B is
     * {@code a}. When {@code b} is shared by every batch and {@code a}'s batches are evenly spaced rows,
     * the batch folds into the rows (one GEMM with m * batches rows). Pure arithmetic (tested on the CPU).
     */
    static GemmProblem problem(Operand oa, Operand ob, int m, int n, int k, int batches, DType dtype, boolean tf32, boolean bias) {
        return problem(oa, ob, m, n, k, batches, dtype, tf32, bias, dtype);
    }

    /** {@link #problem} with D (and the bias) of dtype {@code out} (F32 for a mixed BF16/F16 GEMM). */
    static GemmProblem problem(Operand oa, Operand ob, int m, int n, int k, int batches, DType dtype, boolean tf32, boolean bias, DType out) {
        long sa = oa.batchStride(), sb = ob.batchStride();
        if (batches > 1 && sb == 0 && !oa.colMajor() && sa == (long) m * oa.ld() && (long) m * batches <= Integer.MAX_VALUE) {
            m *= batches;
            batches = 1;
        }
        if (batches == 1) sa = sb = 0;
        int compute = dtype == DType.F32 && tf32 ? cublas.CUBLAS_COMPUTE_32F_FAST_TF32 : cublas.CUBLAS_COMPUTE_32F;
        return new GemmProblem(dtype, compute, ob.colMajor(), oa.colMajor(), n, m, k, ob.ld(), oa.ld(), n, sb, sa,
                batches == 1 ? 0 : (long) m * n, batches, bias, out);
    }

    /** Per thread: the fallback's scalars and address pointers, reused by every call. */
    private static final class Scratch {
        final FloatPointer one = new FloatPointer(1f), zero = new FloatPointer(0f);
        final RawPointer a = new RawPointer(), b = new RawPointer(), c = new RawPointer();
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static void gemm(CudaContext ctx, Operand oa, Operand ob, Tensor out, Tensor bias, int m, int n, int k, int batches, DType operands) {
        GemmProblem p = problem(oa, ob, m, n, k, batches, operands, tf32, bias != null, out.dtype());
        if (lt) {
            if (ctx.dryRun()) {
                DryRun.gemm(p, true);
                return;
            }
            boolean done;
            synchronized (ctx) {
                ctx.makeCurrent();
                done = ctx.lt().matmul(p, CudaOps.addr(ob.t()), CudaOps.addr(oa.t()), CudaOps.addr(out), CudaOps.addr(bias));
            }
            if (done) {
                if (KernelLaunch.SYNC) ctx.synchronize();
                return;
            }
        }
        // fallback: cublasGemmStridedBatchedEx takes any alignment and layout cuBLAS accepts
        if (bias != null) CudaCopy.copy(ctx, bias, out);
        if (ctx.dryRun()) {
            DryRun.gemm(p, false);
            return;
        }
        Scratch s = SCRATCH.get();
        int type = cudaType(p.dtype());
        synchronized (ctx) {
            ctx.makeCurrent();
            int st = cublas.cublasGemmStridedBatchedEx(ctx.cublas(), p.transA() ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N,
                    p.transB() ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N, p.rows(), p.cols(), p.k(), s.one,
                    s.a.at(CudaOps.addr(ob.t())), type, p.lda(), p.strideA(),
                    s.b.at(CudaOps.addr(oa.t())), type, p.ldb(), p.strideB(),
                    bias != null ? s.one : s.zero, s.c.at(CudaOps.addr(out)), cudaType(p.out()), p.ldc(), p.strideC(), p.batch(), p.compute(),
                    cublas.CUBLAS_GEMM_DEFAULT);
            if (st != 0) CudaCheck.blas(st, "cublasGemmStridedBatchedEx(" + p + ")");
        }
        if (KernelLaunch.SYNC) ctx.synchronize();
    }
}
