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

    /** A tiny attention block: every layer kind of this package in one training loop, 40 steps. */
    static final class TinyBlock extends Module {
        final Embedding tok;
        final LayerNorm ln;
        final MultiheadAttention attn;
        final Dropout drop;
        final Sequential head;

        TinyBlock(Init init) {
            tok = registerModule("tok", new Embedding(11, 8, init));
            ln = registerModule("ln", new LayerNorm(8));
            attn = registerModule("attn", new MultiheadAttention(8, 2, init));
            drop = registerModule("drop", new Dropout(0.1, init));
            head = registerModule("head", new Sequential(new Linear(8, 16, true, init), new QuickGELU(), new Linear(16, 11, true, init)));
        }

        Tensor logits(Tensor ids, Tensor causal) {
            Tensor e = tok.forward(ids);
            // pre-LN residual block, as CLIP's: h = e + drop(attn(ln(e)))
            Tensor h = dev.clipvil.ops.Elementwise.add(e, drop.forward(attn.forward(ln.forward(e), causal)));
            return head.forward(h);
        }
    }

    @Test
    void attentionBlockTrainingHoldsConstantMemory() {
        TinyBlock m = new TinyBlock(new Init(3));
        int n = 4, s = 6;
        long[] ids = new long[n * s], next = new long[n * s];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 7 + i / s) % 11;
            next[i] = (ids[i] + 1) % 11;
        }
        Tensor x = Tensor.ofLongs(ids, n, s), y = Tensor.ofLongs(next, n * s);
        double[] causal = new double[s * s];
        for (int i = 0; i < s; i++) for (int j = i + 1; j < s; j++) causal[i * s + j] = Double.NEGATIVE_INFINITY;
        Tensor mask = Tensor.of(causal, s, s);
        Tensor maskF32 = Elementwise.cast(mask, DType.F32);
        long atStep5 = -1;
        double first = 0, last = 0;
        try (AdamW opt = new AdamW(m.namedParameters(), 3e-2)) {
            for (int step = 1; step <= 40; step++) {
                try (MemoryScope sc = MemoryScope.open()) {
                    Tensor logits = dev.clipvil.ops.Views.reshape(m.logits(x, maskF32), n * s, 11);
                    Tensor loss = dev.clipvil.ops.Losses.crossEntropy(logits, y);
                    Autograd.backward(loss);
                    dev.clipvil.optim.GradClip.clipGradNorm(m.parameters(), 1.0);
                    opt.step();
                    opt.zeroGrad();
                    if (step == 1) first = loss.item();
                    last = loss.item();
                }
                if (step == 5) atStep5 = HostMemory.get().inUseBytes();
            }
            assertEquals(atStep5, HostMemory.get().inUseBytes(), "bytes in use after step 5 vs after step 40");
            assertTrue(last < 0.5 * first, "loss should fall: first " + first + ", last " + last);
        }
        m.close();
        x.close(); y.close(); mask.close(); maskF32.close();
    }
}
