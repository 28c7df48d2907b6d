package dev.clipvil.nn;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Reductions;
import dev.clipvil.optim.AdamW;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.HostMemory;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The leak check: 200 training steps of a small MLP, each in a memory scope. Once the optimizer's
 * state exists (after the first step) the bytes held by live tensors must not change from step to
 * step: every activation, saved tensor, gradient and temporary is freed.
 */
class TrainingMemoryTest {
    @Test
    void mlpTrainingHoldsConstantMemoryAndLearns() {
        Init init = new Init(42);
        Sequential mlp = new Sequential(new Linear(16, 32, true, init), new GELU(), new Linear(32, 32, true, init), new GELU(), new Linear(32, 4, true, init));
        Tensor x = Creation.randn(1, DType.F32, 64, 16);
        Tensor target;
        try (MemoryScope s = MemoryScope.open()) {
            // a smooth target the MLP can fit: tanh of a fixed random projection
            Tensor proj = Creation.randn(2, DType.F32, 16, 4);
            target = MemoryScope.keep(Elementwise.tanh(dev.clipvil.ops.Linear.matmul(x, proj)));
        }
        long atStep10 = -1;
        double firstLoss = 0, lastLoss = 0;
        try (AdamW opt = new AdamW(mlp.namedParameters(), 1e-2)) {
            for (int step = 1; step <= 200; step++) {
                try (MemoryScope s = MemoryScope.open()) {
                    Tensor d = Elementwise.sub(mlp.forward(x), target);
                    Tensor loss = Reductions.mean(Elementwise.mul(d, d));
                    Autograd.backward(loss);
                    opt.step();
                    opt.zeroGrad();
                    double l = loss.item();
                    if (step == 1) firstLoss = l;
                    lastLoss = l;
                }
                if (step == 10) atStep10 = HostMemory.get().inUseBytes();
            }
            long atStep200 = HostMemory.get().inUseBytes();
            assertEquals(atStep10, atStep200, "bytes in use after step 10 vs after step 200");
            assertTrue(lastLoss < 0.2 * firstLoss, "loss should fall: first " + firstLoss + ", last " + lastLoss);
        }
        long withoutState = HostMemory.get().inUseBytes();
        assertEquals(atStep10 - 2 * 4 * mlp.parameterCount(), withoutState, "closing AdamW frees its two moments");
        mlp.close();
        x.close();
        target.close();
    }
}
