package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.AttentionResult;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
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

    /**
     * Self-attention over a packed projection: {@code qkv} [N, S, 3E] holds q, k and v side by side
     * (the output of one in-projection GEMM, E = heads x D), read in place as [N, H, S, D] views; the
     * result is {@link #scaledDotProduct} of those views, [N, H, S, D]. The difference is the backward:
     * the three gradients are written once into one [N, S, 3E] gradient, where three separate slices
     * would each zero-fill a full-size buffer and add them up. Under {@link Autocast#bf16()} the packed
     * tensor is lowered once.
     */
    public static Tensor packedSelfAttention(Tensor qkv, int heads, Tensor mask, boolean causal, double scale) {
        if (qkv.dim() != 3 || heads < 1 || qkv.shape(2) % (3 * heads) != 0) {
            throw new ShapeException("packed self-attention: qkv " + Shapes.str(qkv.shape()) + " is not [N, S, 3 x " + heads + " heads x D]");
        }
        if (Autocast.applies(qkv)) return Autocast.lowered(t -> packedSelfAttention(t[0], heads, mask, causal, scale), qkv);
        if (!qkv.isContiguous()) return packedSelfAttention(Views.contiguous(qkv), heads, mask, causal, scale);
        Backend be = Backends.of("attention", qkv, mask);
        int d = qkv.shape(2) / (3 * heads);
        double sc = scale > 0 ? scale : 1.0 / Math.sqrt(d);
        Tensor[] qkvViews = split(qkv, heads);
        AttentionResult r;
        try {
            r = be.attention(qkvViews[0], qkvViews[1], qkvViews[2], mask, causal, sc);
        } finally {
            for (Tensor t : qkvViews) t.close();
        }
        if (!Autograd.needsGrad(qkv)) {
            r.lse().close();
            return r.out();
        }
        int[] packed = qkv.shape();
        return Autograd.record("attention_packed", r.out(), new Tensor[]{qkv}, new Tensor[]{qkv, r.out(), r.lse(), mask}, (g, s) -> {
            Backend bg = Backends.of(g);
            Tensor[] in = split(s[0], heads);
            Tensor[] grads;
            try {
                grads = bg.attentionBackward(g, in[0], in[1], in[2], s[1], s[2], s[3], causal, sc);
            } finally {
                for (Tensor t : in) t.close();
            }
            Tensor gqkv = bg.empty(g.dtype(), packed); // every element is written by one of the three copies
            Tensor[] slots = split(gqkv, heads);
            for (int i = 0; i < 3; i++) {
                bg.copy(grads[i], slots[i]);
                slots[i].close();
                grads[i].close();
            }
            return new Tensor[]{gqkv};
        });
    }

    /** q, k and v of a contiguous [N, S, 3E] tensor as [N, H, S, D] views (new handles; the caller closes them). */
    private static Tensor[] split(Tensor qkv, int heads) {
        int n = qkv.shape(0), s = qkv.shape(1), e3 = qkv.shape(2), e = e3 / 3, d = e / heads;
        int[] shape = {n, heads, s, d}, strides = {s * e3, d, e3, 1};
        return new Tensor[]{qkv.asStrided(shape, strides, qkv.offset()), qkv.asStrided(shape, strides, qkv.offset() + e),
                qkv.asStrided(shape, strides, qkv.offset() + 2 * e)};
    }
}
