package dev.clipvil.clip;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.cuda.DryRunDevice;
import dev.clipvil.nn.Init;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Reductions;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * CLIP's towers run on the CUDA backend unchanged: a training step of a tiny ViT and a tiny
 * ModifiedResNet CLIP on a dry-run CUDA device (no GPU; each kernel launch is checked against its
 * source) must keep every tensor on the device. Values are the GPU parity tests' business.
 */
class ClipOnCudaDryRunTest {
    static void step(ClipConfig c) {
        Device gpu = DryRunDevice.install();
        try (Clip clip = new Clip(c, new Init(1)); MemoryScope s = MemoryScope.open()) {
            clip.to(gpu);
            clip.train();
            Tensor pixels = Creation.to(Creation.randn(2, DType.F32, 2, 3, c.imageResolution(), c.imageResolution()), gpu);
            Tensor ids = Creation.to(Tensor.ofInts(new int[]{1, 5, 7, 2, 0, 0, 0, 0, 1, 6, 2, 0, 0, 0, 0, 0}, 2, 8), gpu);
            ClipOutput out = clip.forward(pixels, ids);
            Tensor loss = Clip.contrastiveLoss(out.logitsPerImage());
            Autograd.backward(loss);
            assertEquals(gpu, loss.device());
            for (var e : clip.namedParameters().entrySet()) {
                if (e.getValue().grad() != null) assertEquals(gpu, e.getValue().grad().device(), e.getKey());
            }
            Tensor grid = clip.visual().grid(pixels);
            assertEquals(gpu, Reductions.sum(grid).device());
        }
    }

    @Test
    void vitTrainingStepStaysOnTheDevice() {
        step(ClipConfig.vit(16, 32, 1, 32, 8, 8, 10, 16, 2, 1).withHeads(2, 2));
    }

    /** Every residual addition but the last is fused with the layer norm that reads it. */
    @Test
    void transformerFusesResidualAddsWithLayerNorms() {
        Device gpu = DryRunDevice.install();
        try (MemoryScope s = MemoryScope.open()) {
            Transformer t = new Transformer(16, 3, 2, new Init(3));
            t.to(gpu);
            Tensor x = Creation.to(Creation.randn(4, DType.F32, 2, 5, 16), gpu);
            int fused = DryRunDevice.launches("clipvil_ln_fwd_residual_f32"), plain = DryRunDevice.launches("clipvil_ln_fwd_f32");
            Tensor y = t.forward(x, null);
            assertEquals(gpu, y.device());
            assertEquals(5, DryRunDevice.launches("clipvil_ln_fwd_residual_f32") - fused, "2 x 3 layers - 1 fused add+norm");
            assertEquals(1, DryRunDevice.launches("clipvil_ln_fwd_f32") - plain, "only the first block's ln_1 is unfused");
            t.close();
        }
    }

    @Test
    void resnetTrainingStepStaysOnTheDevice() {
        step(ClipConfig.resnet(16, 64, new int[]{1, 1, 1, 1}, 8, 8, 10, 16, 2, 1).withHeads(2, 2));
    }
}
