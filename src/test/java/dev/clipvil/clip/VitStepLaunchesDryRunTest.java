package dev.clipvil.clip;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.cuda.DryRunDevice;
import dev.clipvil.nn.Init;
import dev.clipvil.ops.Autocast;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Losses;
import dev.clipvil.optim.AdamW;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What one ViT-B/32 training step (224 px, patch 32, 12 layers; the step of GpuBench and
 * benchmarks/pytorch/vit_b32_train_step.py) issues on the dry-run device, in F32 and under BF16
 * autocast: kernel launches in forward, backward and the optimizer update, GEMMs, and the bytes moved
 * by copy and cast kernels. The counts are fixed by the model's structure, not its width, so a narrow
 * model (width 64) gives the figures of the real one; the bytes scale with the activations and are
 * printed for batch 256 at width 768 by running with -Dclipvil.vitProfile.full=true (slow: the
 * weights are made on the host). Fails when a change adds launches, so every new one is a decision.
 */
class VitStepLaunchesDryRunTest {
    private static final boolean FULL = Boolean.getBoolean("clipvil.vitProfile.full");

    /** {forward, backward, optimizer} launches, GEMMs, copy bytes, cast bytes of the second step (the first makes optimizer state). */
    private static long[] step(boolean bf16) {
        Device gpu = DryRunDevice.install();
        int batch = FULL ? 256 : 2, width = FULL ? 768 : 64, heads = FULL ? 12 : 2, dim = FULL ? 512 : 64;
        try (VisionTransformer model = new VisionTransformer(224, 32, width, 12, heads, dim, new Init(5))) {
            model.to(gpu);
            model.train();
            try (AdamW opt = new AdamW(model.namedParameters(), 1e-4, 0.9, 0.999, 1e-8, 0.1);
                 MemoryScope outer = MemoryScope.open()) {
                Tensor pixels = Creation.to(Creation.randn(1, DType.F32, batch, 3, 224, 224), gpu);
                Tensor labels = Creation.to(Tensor.ofLongs(new long[batch], batch), gpu);
                long[] r = null;
                for (int rep = 0; rep < 2; rep++) {
                    try (MemoryScope s = MemoryScope.open()) {
                        int l0 = DryRunDevice.launches();
                        long g0 = DryRunDevice.gemms(DType.F32) + DryRunDevice.gemms(DType.BF16);
                        long c0 = DryRunDevice.copyBytes(), k0 = DryRunDevice.castBytes();
                        Tensor loss;
                        try (Autocast.Guard g = bf16 ? Autocast.bf16() : Autocast.f32()) {
                            loss = Losses.crossEntropy(model.forward(pixels), labels);
                        }
                        int lf = DryRunDevice.launches() - l0;
                        Autograd.backward(loss);
                        int lb = DryRunDevice.launches() - l0 - lf;
                        opt.step();
                        opt.zeroGrad();
                        int lo = DryRunDevice.launches() - l0 - lf - lb;
                        long gemms = DryRunDevice.gemms(DType.F32) + DryRunDevice.gemms(DType.BF16) - g0;
                        r = new long[]{lf, lb, lo, gemms, DryRunDevice.copyBytes() - c0, DryRunDevice.castBytes() - k0};
                    }
                }
                System.out.printf("ViT-B/32 step (%s, batch %d, width %d) on the dry-run device: launches forward %d, backward %d, optimizer %d; "
                                + "GEMMs %d; copy kernels %.2f GB, of which casts %.2f GB%n",
                        bf16 ? "bf16 autocast" : "f32", batch, width, r[0], r[1], r[2], r[3], r[4] / 1e9, r[5] / 1e9);
                return r;
            }
        }
    }

    @Test
    void f32Step() {
        long[] r = step(false);
        assertEquals(64, r[0], "forward launches");
        assertEquals(198, r[1], "backward launches");
        assertEquals(4, r[2], "optimizer launches (152 parameters, 48 per multi-tensor launch)");
        assertEquals(147, r[3], "GEMMs");
        assertTrue(r[5] < 100_000, "no casts in F32 but the loss's row mask (BOOL -> F32, a few bytes), got " + r[5]);
    }

    @Test
    void bf16AutocastStep() {
        long[] r = step(true);
        assertEquals(180, r[0], "forward launches");
        assertEquals(252, r[1], "backward launches");
        assertEquals(4, r[2], "optimizer launches");
        assertEquals(147, r[3], "GEMMs");
    }
}
