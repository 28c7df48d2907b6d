package dev.clipvil.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** How matmul operands are handed to cuBLAS without copies: {colMajor, ld, batchStride, batched}. */
class CudaGemmLayoutTest {
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
}
