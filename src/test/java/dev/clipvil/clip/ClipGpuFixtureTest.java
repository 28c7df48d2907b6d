package dev.clipvil.clip;

import dev.clipvil.backend.cuda.CudaBackend;
import dev.clipvil.tensor.Device;
import dev.clipvil.testing.GpuAvailable;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;

/**
 * The CLIP reference fixtures on the GPU (cuda:0): the whole model's outputs and every gradient of the
 * contrastive loss, in F32 (strict: no TF32; the tolerances of the CPU parity tests) and in BF16
 * autocast (those of {@link ClipBf16FixtureTest}, where the CPU emulation of the same policy is measured).
 */
@Tag("gpu")
@ExtendWith(GpuAvailable.class)
class ClipGpuFixtureTest {
    static final ClipFixtureRun.Tolerances F32 = new ClipFixtureRun.Tolerances(1e-4, 1e-3, false);

    @ParameterizedTest
    @ValueSource(strings = {"openai_vit_small", "openai_rn_small", "hf_clip_small"})
    void f32OnTheGpuMatchesTheReference(String fixture) throws IOException {
        boolean tf32 = CudaBackend.tf32Allowed();
        CudaBackend.allowTf32(false);
        try {
            ClipFixtureRun.check("ClipGpuFixtureTest", fixture, Device.cuda(0), false, F32);
        } finally {
            CudaBackend.allowTf32(tf32);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"openai_vit_small", "openai_rn_small", "hf_clip_small"})
    void bf16AutocastOnTheGpuStaysCloseToTheReference(String fixture) throws IOException {
        ClipFixtureRun.check("ClipGpuFixtureTest", fixture, Device.cuda(0), true, ClipBf16FixtureTest.BF16);
    }
}
