package dev.clipvil.clip;

import dev.clipvil.tensor.Device;
import dev.clipvil.testing.GpuAvailable;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The CUDA issue's leak test on the model code paths: 500 CLIP training steps (ViT and ResNet towers,
 * F32 and BF16 autocast, fused AdamW) on cuda:0 with the device bytes in use the same after step 5 and
 * after step 500, and all of it given back when the model and optimizer close (cuBLASLt's workspace,
 * which stays with the device, is made before the count starts).
 */
@Tag("gpu")
@ExtendWith(GpuAvailable.class)
class ClipDeviceMemoryGpuTest {
    @ParameterizedTest(name = "{0} tower, bf16 {1}")
    @CsvSource({"vit, false", "vit, true", "resnet, false", "resnet, true"})
    void fiveHundredTrainingStepsHoldDeviceMemoryFlat(String tower, boolean bf16) {
        ClipDeviceMemoryDryRunTest.trainAndCheck(Device.cuda(0), tower, bf16, 500);
    }
}
