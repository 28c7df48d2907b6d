package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.AttentionResult;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.tensor.Tensor;

/** Differentiable fused scaled-dot-product attention. */
public final class Attention {
    private Attention() {}

    /**
     * softmax(q k^T * scale + mask) v over q [B, H, Sq, D], k [B, H, Sk, D], v [B, H, Sk, Dv], as
     * torch.nn.functional.scaled_dot_product_attention. {@code mask} is null, BOOL (true = attend) or
     * additive (q's dtype), broadcastable to [B, H, Sq, Sk]. {@code causal} hides key j from query i
     * when j > i (top-left aligned when Sq != Sk). A query row with every key hidden gives zeros.
     * {@code scale} <= 0 or NaN means 1 / sqrt(D). Gradients flow to q, k and v; the mask gets none
     * (an additive mask that requires grad is treated as a constant). Under {@link Autocast#bf16()} q, k
     * and v are lowered to BF16 and an additive mask stays F32 (the CUDA kernels read either).
     */
    public static Tensor scaledDotProduct(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale) {
        if (Autocast.applies(q, k, v)) return Autocast.lowered(t -> scaledDotProduct(t[0], t[1], t[2], mask, causal, scale), q, k, v);
        Backend be = Backends.of("attention", q, k, v, mask);
        int d = q.dim() == 0 ? 0 : q.shape(-1);
        double sc = scale > 0 ? scale : (d > 0 ? 1.0 / Math.sqrt(d) : 1.0);
        AttentionResult r = be.attention(q, k, v, mask, causal, sc);
        Tensor[] inputs = {q, k, v};
        if (!Autograd.needsGrad(inputs)) {
            r.lse().close();
            return r.out();
        }
        return Autograd.record("attention", r.out(), inputs, new Tensor[]{q, k, v, r.out(), r.lse(), mask},
                (g, s) -> Backends.of(g).attentionBackward(g, s[0], s[1], s[2], s[3], s[4], s[5], causal, sc));
    }
}
