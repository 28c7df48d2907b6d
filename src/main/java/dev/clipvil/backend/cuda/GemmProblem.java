package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.DType;

/**
 * One strided-batched GEMM in cuBLAS's column-major terms, D = op(A) op(B) (+ bias per row of D), as
 * both cuBLASLt and {@code cublasGemmStridedBatchedEx} take it: D is {@code rows x cols}, op(A) is
 * {@code rows x k}, op(B) is {@code k x cols}. For the engine's row-major C[m, n] = a[m, k] b[k, n],
 * A is {@code b}, B is {@code a}, rows = n and cols = m (see {@link CudaGemm}). A value type (also the
 * key of cuBLASLt's plan cache with the pointer alignments), checked on the CPU by {@link #check()}.
 *
 * @param compute  cublasComputeType_t (CUBLAS_COMPUTE_32F or CUBLAS_COMPUTE_32F_FAST_TF32)
 * @param bias     whether a [rows] bias vector is added in the epilogue
 * @param out      the dtype of C/D and of the bias: {@code dtype}, or F32 for BF16/F16 operands
 *                 (F32 accumulation written as F32: no widening pass after the GEMM)
 */
record GemmProblem(DType dtype, int compute, boolean transA, boolean transB, int rows, int cols, int k,
                   int lda, int ldb, int ldc, long strideA, long strideB, long strideC, int batch, boolean bias, DType out) {

    /** A problem whose C/D (and bias) have the operands' dtype. */
    GemmProblem(DType dtype, int compute, boolean transA, boolean transB, int rows, int cols, int k,
                int lda, int ldb, int ldc, long strideA, long strideB, long strideC, int batch, boolean bias) {
        this(dtype, compute, transA, transB, rows, cols, k, lda, ldb, ldc, strideA, strideB, strideC, batch, bias, dtype);
    }

    /** True when D (and the bias) are of another dtype than A and B (BF16/F16 operands, F32 output). */
    boolean mixed() { return out != dtype; }

    /** Rows of A as stored (before op). */
    int aRows() { return transA ? k : rows; }

    int aCols() { return transA ? rows : k; }

    /** Rows of B as stored (before op). */
    int bRows() { return transB ? cols : k; }

    int bCols() { return transB ? k : cols; }

    /** What is wrong with the sizes (a leading dimension below its matrix's rows, overlapping batches, ...), or null. */
    String check() {
        if (rows < 1 || cols < 1 || k < 1 || batch < 1) return "empty or negative sizes";
        if (lda < aRows()) return "lda " + lda + " < " + aRows() + " rows of A";
        if (ldb < bRows()) return "ldb " + ldb + " < " + bRows() + " rows of B";
        if (ldc < rows) return "ldc " + ldc + " < " + rows + " rows of D";
        if (out != dtype && (out != DType.F32 || dtype == DType.F32)) return "output " + out + " for " + dtype + " operands (only BF16/F16 -> F32 mixes)";
        if (strideA < 0 || strideB < 0 || strideC < 0) return "negative batch stride";
        if (batch > 1 && strideC < (long) ldc * cols) return "batches of D overlap (stride " + strideC + ")";
        return null;
    }

    @Override
    public String toString() {
        return dtype + (out != dtype ? "->" + out : "") + (compute == org.bytedeco.cuda.global.cublas.CUBLAS_COMPUTE_32F_FAST_TF32 ? "/tf32" : "") + " m=" + rows + " n=" + cols + " k=" + k
                + " batch=" + batch + " lda=" + lda + (transA ? " A^T" : "") + " ldb=" + ldb + (transB ? " B^T" : "") + " ldc=" + ldc
                + " strides " + strideA + "/" + strideB + "/" + strideC + (bias ? " +bias" : "");
    }
}
