package dev.clipvil.clip;

import dev.clipvil.tensor.Device;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;

/**
 * The CLIP reference fixtures under BF16 autocast on the CPU backend (the emulation of
 * {@link dev.clipvil.ops.Autocast}: BF16 operands of every GEMM, attention and convolution, F32 results
 * of linears and matmuls, BF16 results of attention and convolution, F32 elsewhere) against the F32
 * references: how far the mixed-precision policy moves a whole model.
 * The GPU runs the same check for real ({@link ClipGpuFixtureTest}) with these tolerances.
 */
class ClipBf16FixtureTest {
    /**
     * Measured on the emulation (2026-11-29, linears and matmuls writing F32): forward outputs <= 9.7e-3
     * (max-relative), gradients <= 9.7e-2 (norm-relative; vit 6.2e-2, rn 9.7e-2, hf 4.7e-2; with BF16
     * GEMM outputs they were 4.3e-2, 9.0e-2, 9.1e-2, forward <= 1.08e-2). The gradients of a contrastive loss
     * at these small random models are differences of near-equal softmax terms, scaled by the logit
     * scale (100): BF16's 8-bit mantissa in the logits (1e-2) is what moves them.
     */
    static final ClipFixtureRun.Tolerances BF16 = new ClipFixtureRun.Tolerances(2e-2, 1.5e-1, true);

    @ParameterizedTest
    @ValueSource(strings = {"openai_vit_small", "openai_rn_small", "hf_clip_small"})
    void bf16AutocastStaysCloseToTheReference(String fixture) throws IOException {
        ClipFixtureRun.check("ClipBf16FixtureTest", fixture, Device.CPU, true, BF16);
    }
}
