package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.DType;
import org.bytedeco.cuda.cublas.cublasLtContext;
import org.bytedeco.cuda.cublas.cublasLtMatmulAlgo_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulDescOpaque_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulHeuristicResult_t;
import org.bytedeco.cuda.cublas.cublasLtMatmulPreferenceOpaque_t;
import org.bytedeco.cuda.cublas.cublasLtMatrixLayoutOpaque_t;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerPointer;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A device's cuBLASLt state: the handle, a workspace taken once from the device's memory pool
 * ({@link #WORKSPACE_BYTES}, kept for the process, so GEMMs allocate nothing and stay capturable in
 * CUDA graphs), and a cache of plans: per {@link GemmProblem} and pointer alignments, the matmul
 * descriptor, the matrix layouts and the heuristic's algorithm, so a repeated shape pays neither
 * descriptor set-up nor a heuristic query. Every JavaCPP pointer object a call needs (addresses,
 * scalars, the bias attribute) is held here and reused. All methods run under the context's lock
 * (the caller's {@code synchronized (ctx)}).
 */
final class CudaLt {
    /** Workspace for split-K and stream-K algorithms; 32 MiB is what cuBLAS recommends for Hopper. */
    static final long WORKSPACE_BYTES = 32L << 20;
    /** Plans kept; beyond this the least recently used is destroyed (variable sequence lengths make new shapes). */
    static final int MAX_PLANS = 1024;

    /** A cached plan; {@code algo == null} records that cuBLASLt has no algorithm for the key (the caller falls back). */
    private static final class Plan {
        cublasLtMatmulDescOpaque_t desc;
        cublasLtMatrixLayoutOpaque_t a, b, c;
        cublasLtMatmulHeuristicResult_t result;
        cublasLtMatmulAlgo_t algo;

        void destroy() {
            if (desc != null) cublas.cublasLtMatmulDescDestroy(desc);
            if (a != null) cublas.cublasLtMatrixLayoutDestroy(a);
            if (b != null) cublas.cublasLtMatrixLayoutDestroy(b);
            if (c != null) cublas.cublasLtMatrixLayoutDestroy(c);
            if (result != null) result.close();
            desc = null;
            a = b = c = null;
            result = null;
            algo = null;
        }
    }

    /** What a plan depends on besides the problem: the alignment (bytes, up to 256) of A, B and C/D as the heuristic must know. */
    private record Key(GemmProblem p, int alignA, int alignB, int alignC) {}

    private final CudaContext ctx;
    private final cublasLtContext handle = new cublasLtContext();
    private final long workspace;
    private final cublasLtMatmulPreferenceOpaque_t preference;
    private final Map<Key, Plan> plans = new LinkedHashMap<>(64, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Key, Plan> eldest) {
            if (size() <= MAX_PLANS) return false;
            eldest.getValue().destroy();
            return true;
        }
    };
    // reused per call (the context's lock serialises callers)
    private final RawPointer pa = new RawPointer(), pb = new RawPointer(), pc = new RawPointer(), pw = new RawPointer();
    private final FloatPointer one = new FloatPointer(1f), zero = new FloatPointer(0f);
    private final IntPointer i32 = new IntPointer(1);
    private final LongPointer i64 = new LongPointer(1);
    private final int[] returned = new int[1];
    private final PointerPointer<?> out = new PointerPointer<>(1);
    private long heuristicQueries;
    private long fallbacks;

    CudaLt(CudaContext ctx) {
        this.ctx = ctx;
        ctx.makeCurrent();
        CudaCheck.blas(cublas.cublasLtCreate(handle), "cublasLtCreate");
        CudaCheck.blas(cublas.cublasLtMatmulPreferenceCreate(out), "cublasLtMatmulPreferenceCreate");
        preference = new cublasLtMatmulPreferenceOpaque_t(out.get(0));
        i64.put(0, WORKSPACE_BYTES);
        CudaCheck.blas(cublas.cublasLtMatmulPreferenceSetAttribute(preference, cublas.CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, i64, 8),
                "cublasLtMatmulPreferenceSetAttribute(max workspace)");
        workspace = ctx.memory().allocate(WORKSPACE_BYTES, "cuBLASLt workspace");
    }

    /** Heuristic queries so far (one per new plan; a repeated shape makes none). */
    long heuristicQueries() { return heuristicQueries; }

    /** Plans for which cuBLASLt had no algorithm (their GEMMs take the fallback). */
    long fallbacks() { return fallbacks; }

    /** Plans cached now. */
    int plans() { return plans.size(); }

    /**
     * D = op(A) op(B) (+ bias) on the device's stream; false, with nothing queued, when cuBLASLt has
     * no algorithm for this problem and these alignments (the caller then uses cublasGemmStridedBatchedEx).
     */
    boolean matmul(GemmProblem p, long a, long b, long d, long bias) {
        Key key = new Key(p, alignment(a, p.strideA(), p), alignment(b, p.strideB(), p), alignment(d, p.strideC(), p, p.out()));
        Plan plan = plans.get(key);
        if (plan == null) {
            plan = plan(key);
            plans.put(key, plan);
        }
        if (plan.algo == null) return false;
        if (p.bias()) {
            i64.put(0, bias);
            CudaCheck.blas(cublas.cublasLtMatmulDescSetAttribute(plan.desc, cublas.CUBLASLT_MATMUL_DESC_BIAS_POINTER, i64, 8),
                    "cublasLtMatmulDescSetAttribute(bias pointer)");
        }
        int st = cublas.cublasLtMatmul(handle, plan.desc, one, pa.at(a), plan.a, pb.at(b), plan.b, zero, pc.at(d), plan.c, pc, plan.c,
                plan.algo, pw.at(workspace), WORKSPACE_BYTES, ctx.stream());
        if (st == cublas.CUBLAS_STATUS_NOT_SUPPORTED) {
            // the heuristic's choice refused at run time: remember that and let the caller fall back
            plan.destroy();
            fallbacks++;
            return false;
        }
        CudaCheck.blas(st, "cublasLtMatmul(" + p + ")");
        return true;
    }

    /** The largest power of two (up to 256) dividing the address and, when batched, the batch stride in bytes. Pure arithmetic. */
    static int alignment(long address, long stride, GemmProblem p) { return alignment(address, stride, p, p.dtype()); }

    /** {@link #alignment} of a matrix whose elements are {@code elem} (D of a mixed-output GEMM is F32). */
    static int alignment(long address, long stride, GemmProblem p, DType elem) {
        long bits = address | (p.batch() > 1 ? stride * bytes(elem) : 0) | 256;
        return (int) Long.lowestOneBit(bits);
    }

    private static int bytes(DType t) { return t == DType.F32 ? 4 : 2; }

    private Plan plan(Key key) {
        GemmProblem p = key.p();
        Plan plan = new Plan();
        try {
            CudaCheck.blas(cublas.cublasLtMatmulDescCreate(out, p.compute(), cudart.CUDA_R_32F), "cublasLtMatmulDescCreate(" + p + ")");
            plan.desc = new cublasLtMatmulDescOpaque_t(out.get(0));
            descInt(plan.desc, cublas.CUBLASLT_MATMUL_DESC_TRANSA, p.transA() ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N);
            descInt(plan.desc, cublas.CUBLASLT_MATMUL_DESC_TRANSB, p.transB() ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N);
            // the bias has D's type (cuBLASLt's default bias data type for F32/BF16/F16 outputs, also F32 for
            // an F32 D of BF16/F16 operands): no conversion
            descInt(plan.desc, cublas.CUBLASLT_MATMUL_DESC_EPILOGUE, p.bias() ? cublas.CUBLASLT_EPILOGUE_BIAS : cublas.CUBLASLT_EPILOGUE_DEFAULT);
            int type = CudaGemm.cudaType(p.dtype());
            plan.a = layout(type, p.aRows(), p.aCols(), p.lda(), p.batch(), p.strideA());
            plan.b = layout(type, p.bRows(), p.bCols(), p.ldb(), p.batch(), p.strideB());
            plan.c = layout(CudaGemm.cudaType(p.out()), p.rows(), p.cols(), p.ldc(), p.batch(), p.strideC());
            prefInt(cublas.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, key.alignA());
            prefInt(cublas.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, key.alignB());
            prefInt(cublas.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, key.alignC());
            prefInt(cublas.CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, key.alignC());
            plan.result = new cublasLtMatmulHeuristicResult_t();
            heuristicQueries++;
            returned[0] = 0;
            int st = cublas.cublasLtMatmulAlgoGetHeuristic(handle, plan.desc, plan.a, plan.b, plan.c, plan.c, preference, 1, plan.result, returned);
            // no algorithm, or a layout cuBLASLt will not take (INVALID_VALUE): the caller falls back, and the plan remembers it
            if (st == cublas.CUBLAS_STATUS_NOT_SUPPORTED || st == cublas.CUBLAS_STATUS_INVALID_VALUE || (st == 0 && returned[0] == 0)) {
                plan.destroy();
                fallbacks++;
                return plan;
            }
            CudaCheck.blas(st, "cublasLtMatmulAlgoGetHeuristic(" + p + ")");
            plan.algo = plan.result.algo();
            return plan;
        } catch (RuntimeException e) {
            plan.destroy();
            throw e;
        }
    }

    private cublasLtMatrixLayoutOpaque_t layout(int type, int rows, int cols, int ld, int batch, long stride) {
        CudaCheck.blas(cublas.cublasLtMatrixLayoutCreate(out, type, rows, cols, ld), "cublasLtMatrixLayoutCreate(" + rows + "x" + cols + " ld " + ld + ")");
        cublasLtMatrixLayoutOpaque_t l = new cublasLtMatrixLayoutOpaque_t(out.get(0));
        if (batch > 1) {
            i32.put(0, batch);
            CudaCheck.blas(cublas.cublasLtMatrixLayoutSetAttribute(l, cublas.CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, i32, 4), "cublasLtMatrixLayoutSetAttribute(batch count)");
            i64.put(0, stride);
            CudaCheck.blas(cublas.cublasLtMatrixLayoutSetAttribute(l, cublas.CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, i64, 8),
                    "cublasLtMatrixLayoutSetAttribute(batch stride)");
        }
        return l;
    }

    private void descInt(cublasLtMatmulDescOpaque_t desc, int attr, int value) {
        i32.put(0, value);
        CudaCheck.blas(cublas.cublasLtMatmulDescSetAttribute(desc, attr, i32, 4), "cublasLtMatmulDescSetAttribute(" + attr + ")");
    }

    private void prefInt(int attr, int value) {
        i32.put(0, value);
        CudaCheck.blas(cublas.cublasLtMatmulPreferenceSetAttribute(preference, attr, i32, 4), "cublasLtMatmulPreferenceSetAttribute(" + attr + ")");
    }
}
