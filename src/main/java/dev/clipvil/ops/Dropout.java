package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.backend.BinaryOp;
import dev.clipvil.tensor.Tensor;

/**
 * Inverted dropout: in training each element is zeroed with probability p and the survivors scaled by
 * 1/(1-p), so the expectation is unchanged and evaluation needs no rescaling.
 *
 * <p>Seeds: the mask is a pure function of (shape, p, seed), so the caller owns the randomness. Callers
 * must give every call a different seed (otherwise two layers, or two steps, drop the same positions)
 * and should derive it deterministically, so that runs are reproducible and a recomputed forward
 * (activation checkpointing) gets the very same mask. nn.Dropout passes a counter-based seed: a base
 * seed mixed (e.g. by a SplitMix64 step) with a per-module id and a call counter that increments on
 * every training-mode call, drawn through {@link dev.clipvil.backend.HostSeeds#draw} so that a training
 * step captured in a CUDA graph draws it again before each replay (a seed drawn otherwise cannot be
 * captured: every replay would repeat the mask).
 */
public final class Dropout {
    private Dropout() {}

    /**
     * x * mask, mask = dropoutMask(x.shape, p, seed), when {@code training} and p > 0; otherwise an
     * identity (a new handle on x's storage, recorded so the graph stays connected). p must be in
     * [0, 1]; p = 1 zeroes everything (and its gradient), as in PyTorch.
     */
    public static Tensor dropout(Tensor x, double p, boolean training, long seed) {
        if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("dropout: p must be in [0, 1], got " + p);
        if (!training || p == 0) {
            Tensor out = x.asStrided(x.shape(), x.strides(), x.offset());
            return Autograd.record("dropout(identity)", out, new Tensor[]{x}, null, (g, s) -> new Tensor[]{g});
        }
        Backend be = Backends.of(x);
        Tensor mask;
        if (p == 1) {
            mask = be.empty(x.dtype(), x.shape());
            be.fill(mask, 0);
        } else {
            mask = be.dropoutMask(x.shape(), x.dtype(), p, seed);
        }
        Tensor out = be.binary(BinaryOp.MUL, x, mask);
        if (!Autograd.needsGrad(x)) {
            mask.close();
            return out;
        }
        return Autograd.record("dropout", out, new Tensor[]{x}, new Tensor[]{mask},
                (g, s) -> new Tensor[]{Backends.of(g).binary(BinaryOp.MUL, g, s[0])});
    }
}
