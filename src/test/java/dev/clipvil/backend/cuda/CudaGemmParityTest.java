package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GpuAvailable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static dev.clipvil.backend.cuda.GpuParity.*;

/**
 * GEMMs on views (transposed, narrowed, broadcast batches), with and without a bias, against the CPU
 * backend: through cuBLASLt (bias in the epilogue) and through the cublasGemmStridedBatchedEx fallback;
 * BF16 operands with an F32 output (autocast's linears) on both paths.
 */
@Tag("gpu")
@ExtendWith(GpuAvailable.class)
class CudaGemmParityTest {
    @BeforeAll
    static void poison() { CudaMemory.setPoison(true); }

    @AfterEach
    void strict() {
        CudaGemm.allowTf32(false);
        CudaGemm.useLt(true);
    }

    private static void check(String what, Pair a, Pair b, Pair bias, double tol) {
        Tensor g = gpu().matmul(a.gpu(), b.gpu(), bias == null ? null : bias.gpu());
        Tensor c = cpu().matmul(a.cpu(), b.cpu(), bias == null ? null : bias.cpu());
        assertClose(what, g, c, tol);
        close(g, c);
    }

    @Test
    void layoutsAndBatches() {
        try (Pair a = randn(1, 33, 65); Pair b = randn(2, 65, 17); Pair bias = randn(3, 17)) {
            check("plain", a, b, null, F32);
            check("bias", a, b, bias, F32);
        }
        try (Pair a = randnT(1, 33, 65); Pair b = randnT(2, 65, 17)) {
            check("both transposed", a, b, null, F32);
        }
        try (Pair a = randnNarrow(1, 7, 9); Pair b = randnNarrow(2, 9, 5)) {
            check("narrowed", a, b, null, F32);
        }
        try (Pair a = randn(1, 2, 3, 5, 7); Pair w = randn(2, 7, 4); Pair bias = randn(3, 4)) {
            check("shared weight", a, w, bias, F32);
        }
        try (Pair a = randn(1, 2, 1, 5, 7); Pair b = randn(2, 1, 3, 7, 4)) {
            check("broadcast batches (copied)", a, b, null, F32);
        }
        try (Pair q = randn(1, 2, 3, 50, 64); Pair k = randnT(2, 2, 3, 64, 50)) {
            check("q k^T per head", q, k, null, F32);
        }
        try (Pair a = randn(1, 1, 1); Pair b = randn(2, 1, 1)) {
            check("1x1x1", a, b, null, F32);
        }
        try (Pair a = randn(1, 4, 0); Pair b = randn(2, 0, 3); Pair bias = randn(3, 3)) {
            check("k = 0 with bias", a, b, bias, F32);
            check("k = 0", a, b, null, F32);
        }
    }

    @Test
    void bf16AndTf32() {
        try (Pair a0 = randn(1, 4, 77, 128); Pair b0 = randnT(2, 128, 96); Pair c0 = randn(3, 96);
             Pair a = bf16(a0); Pair b = bf16(b0); Pair bias = bf16(c0)) {
            check("bf16", a, b, bias, BF16);
        }
        CudaGemm.allowTf32(true);
        try (Pair a = randn(1, 256, 512); Pair b = randn(2, 512, 128)) {
            check("tf32", a, b, null, TF32);
        }
    }

    /** Bias with every layout the epilogue meets: transposed operands, shared and broadcast batches, odd sizes, unaligned views. */
    private static void biasCases(String path) {
        try (Pair a = randnT(11, 33, 65); Pair b = randnT(12, 65, 17); Pair bias = randn(13, 17)) {
            check(path + " both transposed + bias", a, b, bias, F32);
        }
        try (Pair a = randn(14, 3, 50, 64); Pair w = randnT(15, 64, 96); Pair bias = randn(16, 96)) {
            check(path + " batched x shared W^T + bias (folds into one GEMM)", a, w, bias, F32);
        }
        try (Pair a = randn(17, 2, 1, 5, 7); Pair b = randn(18, 1, 3, 7, 4); Pair bias = randn(19, 4)) {
            check(path + " broadcast batches + bias", a, b, bias, F32);
        }
        try (Pair a = randn(20, 4, 9, 7); Pair b = randnT(21, 4, 7, 5); Pair bias = randn(22, 5)) {
            check(path + " strided batches, odd sizes + bias", a, b, bias, F32);
        }
        try (Pair a = randnNarrow(23, 7, 9); Pair b = randnNarrow(24, 9, 5); Pair wide = randn(25, 6);
             Pair bias = wide.view(new int[]{5}, new int[]{1}, 1)) {
            check(path + " narrowed operands, bias one element in (4-byte aligned)", a, b, bias, F32);
        }
        try (Pair a = randn(26, 5, 8); Pair b = randn(27, 8, 6); Pair wide = randn(28, 6, 2);
             Pair bias = wide.view(new int[]{6}, new int[]{2}, 0)) {
            check(path + " strided bias", a, b, bias, F32);
        }
        try (Pair a0 = randn(29, 3, 77, 128); Pair b0 = randnT(30, 128, 96); Pair c0 = randn(31, 96);
             Pair a = bf16(a0); Pair b = bf16(b0); Pair bias = bf16(c0)) {
            check(path + " bf16 batched + bias", a, b, bias, BF16);
        }
        try (Pair a0 = randnT(32, 2, 45, 33); Pair b0 = randn(33, 2, 33, 19); Pair c0 = randn(34, 19);
             Pair a = bf16(a0); Pair b = bf16(b0); Pair bias = bf16(c0)) {
            check(path + " bf16 transposed, odd sizes + bias", a, b, bias, BF16);
        }
        CudaGemm.allowTf32(true);
        try (Pair a = randn(35, 256, 512); Pair b = randnT(36, 512, 128); Pair bias = randn(37, 128)) {
            check(path + " tf32 + bias", a, b, bias, TF32);
        }
        try (Pair a = randn(38, 4, 64, 96); Pair b = randn(39, 4, 96, 72)) {
            check(path + " tf32 batched", a, b, null, TF32);
        }
        CudaGemm.allowTf32(false);
    }

    @Test
    void biasInTheEpilogue() {
        biasCases("cuBLASLt");
    }

    @Test
    void theFallbackAgrees() {
        CudaGemm.useLt(false);
        biasCases("cublasGemmStridedBatchedEx");
        layoutsAndBatches();
    }

    /** BF16 operands, F32 result (and F32 bias) against the CPU's F32 GEMM of the same (BF16-valued) operands. */
    private static void checkMixed(String what, Pair a, Pair b, Pair bias) {
        Tensor g = gpu().matmul(a.gpu(), b.gpu(), bias == null ? null : bias.gpu(), DType.F32);
        assertEquals(DType.F32, g.dtype(), what + ": output dtype");
        Tensor c = cpu().matmul(a.cpu(), b.cpu(), bias == null ? null : bias.cpu());
        assertClose(what, g, c, BF16);
        close(g, c);
    }

    private static void mixedCases(String path) {
        try (Pair a0 = randn(50, 33, 64); Pair b0 = randn(51, 64, 48); Pair bias = randn(52, 48); Pair a = bf16(a0); Pair b = bf16(b0)) {
            checkMixed(path + " bf16 -> f32", a, b, null);
            checkMixed(path + " bf16 -> f32 + f32 bias", a, b, bias);
            // the same shape with a BF16 output must not reuse the F32-output plan
            Tensor g = gpu().matmul(a.gpu(), b.gpu(), null);
            assertEquals(DType.BF16, g.dtype());
            Tensor c = cpu().matmul(a.cpu(), b.cpu(), null);
            assertClose(path + " bf16 -> bf16 after bf16 -> f32", g, c, BF16);
            close(g, c);
        }
        try (Pair a0 = randnT(53, 45, 33); Pair b0 = randnT(54, 33, 19); Pair bias = randn(55, 19); Pair a = bf16(a0); Pair b = bf16(b0)) {
            checkMixed(path + " bf16 -> f32, both transposed, odd sizes + bias", a, b, bias);
        }
        try (Pair a0 = randn(56, 4, 50, 64); Pair w0 = randnT(57, 64, 96); Pair bias = randn(58, 96); Pair a = bf16(a0); Pair w = bf16(w0)) {
            checkMixed(path + " bf16 -> f32, batched x shared W^T + bias (one folded GEMM)", a, w, bias);
        }
        try (Pair q0 = randn(59, 2, 3, 50, 64); Pair k0 = randnT(60, 2, 3, 64, 50); Pair q = bf16(q0); Pair k = bf16(k0)) {
            checkMixed(path + " bf16 -> f32, strided batches (q k^T per head)", q, k, null);
        }
        try (Pair a0 = randn(61, 2, 1, 5, 7); Pair b0 = randn(62, 1, 3, 7, 4); Pair a = bf16(a0); Pair b = bf16(b0)) {
            checkMixed(path + " bf16 -> f32, broadcast batches", a, b, null);
        }
    }

    @Test
    void bf16OperandsWriteAnF32Output() {
        mixedCases("cuBLASLt");
        CudaGemm.useLt(false);
        mixedCases("cublasGemmStridedBatchedEx");
    }

    @Test
    void aRepeatedShapeReusesItsPlan() {
        CudaLt lt = CudaContext.get(0).lt();
        try (Pair a = randn(40, 64, 96); Pair b = randnT(41, 96, 80); Pair bias = randn(42, 80)) {
            long fallbacks = lt.fallbacks();
            check("first", a, b, bias, F32);
            assertEquals(fallbacks, lt.fallbacks(), "cuBLASLt has an algorithm for an aligned F32 GEMM with bias");
            long queries = lt.heuristicQueries();
            int plans = lt.plans();
            for (int i = 0; i < 3; i++) check("again " + i, a, b, bias, F32);
            assertEquals(queries, lt.heuristicQueries(), "no new heuristic query for a shape seen before");
            assertEquals(plans, lt.plans());
            assertTrue(plans > 0);
        }
    }
}
