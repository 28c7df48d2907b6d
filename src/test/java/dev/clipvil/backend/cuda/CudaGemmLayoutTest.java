package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.DType;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How matmul operands are handed to cuBLAS without copies ({colMajor, ld, batchStride, batched}) and
 * the column-major problem cuBLASLt and the fallback are given for them.
 */
class CudaGemmLayoutTest {
    private static final int F32_COMPUTE = 68, TF32_COMPUTE = 77; // CUBLAS_COMPUTE_32F, CUBLAS_COMPUTE_32F_FAST_TF32

    private static CudaGemm.Operand op(boolean colMajor, int ld, long batchStride) {
        return new CudaGemm.Operand(null, false, colMajor, ld, batchStride);
    }

    @Test
    void rowMajorAndTransposedMatrices() {
        assertArrayEquals(new int[]{0, 5, 0, 0}, CudaGemm.layout(new int[]{3, 5}, new int[]{5, 1}, new int[0]));
        assertArrayEquals(new int[]{1, 3, 0, 0}, CudaGemm.layout(new int[]{3, 5}, new int[]{1, 3}, new int[0]), "a transposed [5,3]");
        assertArrayEquals(new int[]{0, 8, 0, 0}, CudaGemm.layout(new int[]{3, 5}, new int[]{8, 1}, new int[0]), "narrowed columns");
        assertArrayEquals(new int[]{0, 5, 0, 0}, CudaGemm.layout(new int[]{1, 5}, new int[]{0, 1}, new int[0]), "one row, any row stride");
        assertNull(CudaGemm.layout(new int[]{3, 5}, new int[]{10, 2}, new int[0]), "no unit stride");
        assertNull(CudaGemm.layout(new int[]{3, 5}, new int[]{0, 1}, new int[0]), "broadcast rows");
    }

    @Test
    void batchDimsFoldIntoOneStrideOrAreCopied() {
        assertArrayEquals(new int[]{0, 4, 12, 1}, CudaGemm.layout(new int[]{2, 5, 3, 4}, new int[]{60, 12, 4, 1}, new int[]{2, 5}));
        assertArrayEquals(new int[]{0, 4, 0, 0}, CudaGemm.layout(new int[]{3, 4}, new int[]{4, 1}, new int[]{2, 5}), "shared weight");
        assertArrayEquals(new int[]{0, 4, 12, 1}, CudaGemm.layout(new int[]{1, 5, 3, 4}, new int[]{60, 12, 4, 1}, new int[]{1, 5}));
        assertNull(CudaGemm.layout(new int[]{2, 1, 3, 4}, new int[]{12, 12, 4, 1}, new int[]{2, 5}), "broadcast inside the batch");
        assertArrayEquals(new int[]{1, 4, 16, 1}, CudaGemm.layout(new int[]{6, 3, 4}, new int[]{16, 1, 4}, new int[]{6}), "batched transposed");
        assertArrayEquals(new int[]{0, 64, 32, 1}, CudaGemm.layout(new int[]{2, 3, 5, 8}, new int[]{96, 32, 64, 1}, new int[]{2, 3}),
                "heads split from [B, S, H*D]: batch folds (3*32=96)");
    }

    @Test
    void rowMajorProductIsTheColumnMajorTranspose() {
        // a [3, 5] @ b [5, 4]: cuBLAS's A is b (4 x 5, ld 4), its B is a (5 x 3, ld 5), D is 4 x 3 (ld 4)
        GemmProblem p = CudaGemm.problem(op(false, 5, 0), op(false, 4, 0), 3, 4, 5, 1, DType.F32, false, true);
        assertEquals(new GemmProblem(DType.F32, F32_COMPUTE, false, false, 4, 3, 5, 4, 5, 4, 0, 0, 0, 1, true), p);
        assertNull(p.check());
        // Linear: x [3, 5] @ weight[4, 5]^T, the weight a column-major view with ld 5
        GemmProblem lin = CudaGemm.problem(op(false, 5, 0), op(true, 5, 0), 3, 4, 5, 1, DType.BF16, true, true);
        assertTrue(lin.transA());
        assertFalse(lin.transB());
        assertEquals(5, lin.aRows(), "stored A is k x n");
        assertEquals(4, lin.aCols());
        assertEquals(F32_COMPUTE, lin.compute(), "BF16 accumulates in F32; TF32 applies to F32 data only");
        assertNull(lin.check());
        GemmProblem t = CudaGemm.problem(op(true, 3, 0), op(false, 4, 0), 3, 4, 5, 1, DType.F32, true, false);
        assertTrue(t.transB());
        assertEquals(TF32_COMPUTE, t.compute());
        assertEquals(3, t.bRows(), "stored B is m x k");
        assertNull(t.check());
    }

    @Test
    void aSharedWeightFoldsTheBatchIntoRows() {
        // a [2, 5, 3, 4] contiguous (batch stride 12 = 3 rows x ld 4) @ b [4, 6] shared: one GEMM of 30 rows
        GemmProblem p = CudaGemm.problem(op(false, 4, 12), op(false, 6, 0), 3, 6, 4, 10, DType.F32, false, false);
        assertEquals(new GemmProblem(DType.F32, F32_COMPUTE, false, false, 6, 30, 4, 6, 4, 6, 0, 0, 0, 1, false), p);
        // both batched: a strided-batched GEMM, D's batches m x n apart
        GemmProblem q = CudaGemm.problem(op(false, 4, 12), op(false, 6, 24), 3, 6, 4, 10, DType.F32, false, true);
        assertEquals(new GemmProblem(DType.F32, F32_COMPUTE, false, false, 6, 3, 4, 6, 4, 6, 24, 12, 18, 10, true), q);
        assertNull(q.check());
        assertEquals(10, CudaGemm.problem(op(true, 3, 12), op(false, 6, 0), 3, 6, 4, 10, DType.F32, false, false).batch(),
                "a transposed a does not fold");
        assertEquals(10, CudaGemm.problem(op(false, 4, 16), op(false, 6, 0), 3, 6, 4, 10, DType.F32, false, false).batch(),
                "a's batches are not evenly spaced rows (a narrowed batch)");
        GemmProblem shared = CudaGemm.problem(op(false, 4, 16), op(false, 6, 0), 3, 6, 4, 10, DType.F32, false, false);
        assertEquals(0, shared.strideA(), "cuBLAS's A (the shared b) keeps batch stride 0");
        assertEquals(16, shared.strideB());
        assertNull(shared.check());
    }

    @Test
    void checkRejectsBadLeadingDimensionsAndOverlappingBatches() {
        assertTrue(new GemmProblem(DType.F32, F32_COMPUTE, false, false, 4, 3, 5, 3, 5, 4, 0, 0, 0, 1, false).check().contains("lda"));
        assertTrue(new GemmProblem(DType.F32, F32_COMPUTE, true, false, 4, 3, 5, 4, 5, 4, 0, 0, 0, 1, false).check().contains("lda"),
                "a transposed A stores k = 5 rows");
        assertTrue(new GemmProblem(DType.F32, F32_COMPUTE, false, true, 4, 3, 5, 4, 2, 4, 0, 0, 0, 1, false).check().contains("ldb"));
        assertTrue(new GemmProblem(DType.F32, F32_COMPUTE, false, false, 4, 3, 5, 4, 5, 3, 0, 0, 0, 1, false).check().contains("ldc"));
        assertTrue(new GemmProblem(DType.F32, F32_COMPUTE, false, false, 4, 3, 5, 4, 5, 4, 0, 0, 8, 2, false).check().contains("overlap"));
        assertTrue(new GemmProblem(DType.F32, F32_COMPUTE, false, false, 4, 0, 5, 4, 5, 4, 0, 0, 0, 1, false).check().contains("empty"));
    }

    @Test
    void cuBlasLtIsToldEachOperandsTrueAlignment() {
        GemmProblem one = new GemmProblem(DType.F32, F32_COMPUTE, false, false, 4, 3, 5, 4, 5, 4, 0, 0, 0, 1, false);
        assertEquals(256, CudaLt.alignment(1L << 40, 0, one), "a fresh block");
        assertEquals(4, CudaLt.alignment((1L << 40) + 4, 0, one), "a view one F32 element in");
        assertEquals(16, CudaLt.alignment((1L << 40) + 48, 0, one));
        GemmProblem batched = new GemmProblem(DType.BF16, F32_COMPUTE, false, false, 4, 3, 5, 4, 5, 4, 7, 0, 12, 2, false);
        assertEquals(2, CudaLt.alignment(1L << 40, 7, batched), "every batch's address counts: 7 BF16 elements apart");
        assertEquals(256, CudaLt.alignment(1L << 40, 0, batched), "a shared (stride 0) operand");
    }

    @Test
    void aMixedOutputProblemKeysItsPlanAndAlignsDByTheOutputType() {
        GemmProblem same = CudaGemm.problem(op(false, 5, 0), op(true, 5, 0), 3, 4, 5, 1, DType.BF16, false, true);
        GemmProblem mixed = CudaGemm.problem(op(false, 5, 0), op(true, 5, 0), 3, 4, 5, 1, DType.BF16, false, true, DType.F32);
        assertFalse(same.mixed());
        assertTrue(mixed.mixed());
        assertEquals(DType.F32, mixed.out());
        assertNotEquals(same, mixed, "the output type is part of the plan key");
        assertNull(mixed.check());
        assertTrue(mixed.toString().startsWith("BF16->F32"), mixed.toString());
        assertTrue(CudaGemm.problem(op(false, 5, 0), op(false, 4, 0), 3, 4, 5, 1, DType.F32, false, false, DType.BF16).check().contains("mixes"),
                "only BF16/F16 operands may write F32");
        // D of a batched mixed GEMM: 7 F32 elements apart = 28 bytes -> 4-byte aligned (as BF16 it would be 2)
        GemmProblem batched = new GemmProblem(DType.BF16, F32_COMPUTE, false, false, 4, 3, 5, 4, 5, 4, 7, 0, 12, 2, false, DType.F32);
        assertEquals(2, CudaLt.alignment(1L << 40, 7, batched));
        assertEquals(4, CudaLt.alignment(1L << 40, 7, batched, DType.F32));
    }
}
