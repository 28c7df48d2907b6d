package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GpuAvailable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static dev.clipvil.backend.cuda.GpuParity.*;

/** cuBLAS GEMMs on views (transposed, narrowed, broadcast batches) against the CPU backend. */
@Tag("gpu")
@ExtendWith(GpuAvailable.class)
class CudaGemmParityTest {
    @BeforeAll
    static void poison() { CudaMemory.setPoison(true); }

    @AfterEach
    void strict() { CudaGemm.allowTf32(false); }

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
}
