package dev.clipvil.clip;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.backend.cuda.DryRunDevice;
import dev.clipvil.nn.Init;
import dev.clipvil.ops.Autocast;
import dev.clipvil.ops.Creation;
import dev.clipvil.optim.AdamW;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The leak check of the CUDA issue on the model code paths CI can reach: CLIP training steps (ViT and
 * ModifiedResNet towers, F32 and BF16 autocast, fused AdamW) on the dry-run CUDA device, whose memory
 * pool keeps the same books as a GPU's. Device bytes in use after step 5 and after the last step must
 * be equal (every activation, saved tensor, gradient temporary and autocast weight copy is freed), and
 * closing the model and optimizer gives everything back. ClipDeviceMemoryGpuTest runs the same 500 steps
 * on a real GPU.
 */
class ClipDeviceMemoryDryRunTest {
    private static final int STEPS = 20;

    @ParameterizedTest(name = "{0} tower, bf16 {1}")
    @CsvSource({"vit, false", "vit, true", "resnet, false", "resnet, true"})
    void trainingStepsHoldDeviceMemoryFlat(String tower, boolean bf16) {
        trainAndCheck(DryRunDevice.install(), tower, bf16, STEPS);
    }

    /** {@code steps} CLIP training steps on {@code gpu} (a {@code tower} of "vit" or "resnet"): device memory flat from step 5, all given back on close. */
    static void trainAndCheck(Device gpu, String tower, boolean bf16, int steps) {
        Backend be = Backends.of(gpu);
        // a first GEMM makes the device's cuBLASLt state (its workspace stays with the device for the process)
        try (Tensor a = be.empty(DType.F32, 2, 2); Tensor b = be.empty(DType.F32, 2, 2)) {
            be.fill(a, 1);
            be.fill(b, 1);
            be.matmul(a, b, null).close();
        }
        ClipConfig c = tower.equals("vit") ? ClipConfig.vit(16, 32, 2, 32, 8, 8, 10, 16, 2, 1).withHeads(2, 2)
                : ClipConfig.resnet(16, 64, new int[]{1, 1, 1, 1}, 8, 8, 10, 16, 2, 1).withHeads(2, 2);
        long before = be.memoryStats().inUseBytes();
        long atStep5 = -1;
        try (Clip clip = new Clip(c, new Init(1))) {
            clip.to(gpu);
            clip.train();
            try (AdamW opt = new AdamW(clip.namedParameters(), 1e-4, 0.9, 0.98, 1e-6, 0.2); MemoryScope outer = MemoryScope.open()) {
                Tensor pixels = Creation.to(Creation.randn(2, DType.F32, 2, 3, c.imageResolution(), c.imageResolution()), gpu);
                Tensor ids = Creation.to(Tensor.ofInts(new int[]{1, 5, 7, 2, 0, 0, 0, 0, 1, 6, 2, 0, 0, 0, 0, 0}, 2, 8), gpu);
                for (int step = 1; step <= steps; step++) {
                    try (MemoryScope s = MemoryScope.open()) {
                        Tensor loss;
                        try (Autocast.Guard g = bf16 ? Autocast.bf16() : Autocast.f32()) {
                            loss = Clip.contrastiveLoss(clip.forward(pixels, ids).logitsPerImage());
                        }
                        Autograd.backward(loss);
                        opt.step();
                        opt.zeroGrad();
                    }
                    if (step == 5) atStep5 = be.memoryStats().inUseBytes();
                }
                assertEquals(atStep5, be.memoryStats().inUseBytes(), "device bytes in use after step 5 and after step " + steps);
                assertEquals(0, Autocast.cachedCasts(), "the autocast weight copies went with their region");
                assertTrue(atStep5 > before, "parameters and optimizer state are on the device");
            }
        }
        assertEquals(before, be.memoryStats().inUseBytes(), "closing the model and the optimizer frees every device byte they held");
    }
}
