package dev.clipvil.clip;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.Backends;
import dev.clipvil.backend.cuda.CudaGraphStep;
import dev.clipvil.backend.cuda.DryRunDevice;
import dev.clipvil.nn.Init;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Losses;
import dev.clipvil.optim.AdamW;
import dev.clipvil.optim.GradClip;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The benchmark's ViT training step (forward, cross-entropy, backward, gradient clipping on the device,
 * AdamW) is capturable in a CUDA graph: on a dry-run device nothing in it reads the host, uploads,
 * synchronises or falls back to the CPU, and it replays.
 */
class VitCudaGraphDryRunTest {
    @Test
    void vitTrainingStepIsCapturedAndReplayed() {
        Device gpu = DryRunDevice.install();
        try (VisionTransformer model = new VisionTransformer(32, 16, 32, 2, 2, 16, new Init(0)); MemoryScope scope = MemoryScope.open()) {
            model.to(gpu);
            model.train();
            try (AdamW opt = new AdamW(model.namedParameters(), 1e-4, 0.9, 0.999, 1e-8, 0.1);
                 CudaGraphStep step = new CudaGraphStep(gpu, 1, opt::step)) {
                Tensor pixels = Creation.to(Creation.randn(2, DType.F32, 4, 3, 32, 32), gpu);
                Tensor labels = Creation.to(Tensor.ofLongs(new long[]{1, 2, 3, 4}, 4), gpu);
                Tensor lossOut = Backends.of(gpu).empty(DType.F32);
                Runnable body = () -> {
                    opt.zeroGrad();
                    try (MemoryScope s = MemoryScope.open()) {
                        Tensor loss = Losses.crossEntropy(model.forward(pixels), labels);
                        Autograd.backward(loss);
                        Backends.of(gpu).copy(loss, lossOut);
                        Tensor norm = GradClip.clipGradNormOnDevice(model.parameters(), 1.0);
                        if (norm != null) norm.close();
                    }
                    opt.step();
                };
                String key = CudaGraphStep.shapeKey(pixels, labels);
                assertEquals(CudaGraphStep.Mode.EAGER, step.run(key, body));
                assertEquals(CudaGraphStep.Mode.CAPTURED, step.run(key, body));
                assertEquals(CudaGraphStep.Mode.REPLAYED, step.run(key, body));
                assertEquals(model.namedParameters().size(), step.graph().scalarSlots());
                opt.zeroGrad();
            }
        }
    }
}
