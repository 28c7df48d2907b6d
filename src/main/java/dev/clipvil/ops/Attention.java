package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.AttentionResult;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/**
 * Differentiable fused scaled-dot-product attention.
 * <p>
 * Under {@link Autocast#bf16()} attention is ONE graph node in mixed precision, with no recorded casts
 * around it: the F32 q, k, v (or the packed qkv) are lowered to BF16 once (an unrecorded copy saved for
 * backward), the backend's mixed call runs BF16 operands on the tensor cores and writes the F32
 * accumulation as the F32 output (not rounded through BF16); backward hands the F32 output gradient to
 * the backend's mixed backward, which rounds it to BF16 once for the products (delta = rowsum(bf16(gOut)
 * * out) with the F32 out) and returns F32 gradients directly. The CPU backend computes only in F32, so
 * there the same numbers are emulated: the operands and the output gradient are rounded through BF16
 * (F32 tensors holding BF16 values), everything else is F32.
 */
public final class Attention {
    private Attention() {}

    /**
     * softmax(q k^T * scale + mask) v over q [B, H, Sq, D], k [B, H, Sk, D], v [B, H, Sk, Dv], as
     * torch.nn.functional.scaled_dot_product_attention. {@code mask} is null, BOOL (true = attend) or
     * additive (q's dtype), broadcastable to [B, H, Sq, Sk]. {@code causal} hides key j from query i
     * when j > i (top-left aligned when Sq != Sk). A query row with every key hidden gives zeros.
     * {@code scale} <= 0 or NaN means 1 / sqrt(D). Gradients flow to q, k and v; the mask gets none
     * (an additive mask that requires grad is treated as a constant). Under {@link Autocast#bf16()} q, k
     * and v are lowered to BF16, an additive mask stays F32 (the CUDA kernels read either), and output
     * and gradients are F32 (see the class comment).
     */
    public static Tensor scaledDotProduct(Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale) {
        boolean mixed = Autocast.applies(q, k, v);
        Tensor[] ops = mixed ? new Tensor[]{lower(q), lower(k), lower(v)} : new Tensor[]{q, k, v};
        AttentionResult r;
        double sc;
        try {
            Backend be = Backends.of("attention", ops[0], ops[1], ops[2], mask);
            int d = q.dim() == 0 ? 0 : q.shape(-1);
            sc = scale > 0 ? scale : (d > 0 ? 1.0 / Math.sqrt(d) : 1.0);
            r = mixed ? be.attention(ops[0], ops[1], ops[2], mask, causal, sc, DType.F32) : be.attention(ops[0], ops[1], ops[2], mask, causal, sc);
        } catch (RuntimeException | Error e) {
            if (mixed) closeLowered(ops, q, k, v);
            throw e;
        }
        Tensor[] inputs = {q, k, v};
        if (!Autograd.needsGrad(inputs)) {
            r.lse().close();
            if (mixed) closeLowered(ops, q, k, v);
            return r.out();
        }
        if (!mixed) {
            return Autograd.record("attention", r.out(), inputs, new Tensor[]{q, k, v, r.out(), r.lse(), mask},
                    (g, s) -> Backends.of(g).attentionBackward(g, s[0], s[1], s[2], s[3], s[4], s[5], causal, sc));
        }
        DType[] types = {q.dtype(), k.dtype(), v.dtype()};
        return Autograd.record("attention_bf16", r.out(), inputs, new Tensor[]{ops[0], ops[1], ops[2], r.out(), r.lse(), mask}, (g, s) -> {
            Backend bg = Backends.of(g);
            Tensor go = gradOperand(g);
            Tensor[] grads;
            try {
                grads = bg.attentionBackward(go, s[0], s[1], s[2], s[3], s[4], s[5], causal, sc, DType.F32);
            } finally {
                if (go != g) go.close();
            }
            for (int i = 0; i < 3; i++) {  // an input that was not F32 (left unlowered) gets its own dtype back
                if (grads[i].dtype() == types[i]) continue;
                Tensor c = bg.cast(grads[i], types[i]);
                grads[i].close();
                grads[i] = c;
            }
            return grads;
        });
    }

    /**
     * Self-attention over a packed projection: {@code qkv} [N, S, 3E] holds q, k and v side by side
     * (the output of one in-projection GEMM, E = heads x D), read in place as [N, H, S, D] views; the
     * result is {@link #scaledDotProduct} of those views, [N, H, S, D]. The difference is the backward:
     * the three gradients are written once into one [N, S, 3E] gradient (the backend's
     * {@link Backend#attentionBackwardInto} stores them into its slots; CUDA through strides, with no
     * copy kernels), where three separate slices would each zero-fill a full-size buffer and add them up. Under {@link Autocast#bf16()} the packed
     * tensor is lowered once (one cast) and output and packed gradient are F32 (see the class comment).
     */
    public static Tensor packedSelfAttention(Tensor qkv, int heads, Tensor mask, boolean causal, double scale) {
        return packed(qkv, heads, mask, causal, scale, false);
    }

    /**
     * {@link #packedSelfAttention} with the heads merged: the output is [N, S, E] (E = heads x D), the
     * values of {@code permute(out, 0, 2, 1, 3)} reshaped, as a multi-head attention feeds its output
     * projection. The backend writes the output straight into that layout (its [N, H, S, D] view with
     * strides {S*E, D, E, 1}) and the backward reads the [N, S, E] gradient through the same view, so
     * neither direction copies to merge or split the heads.
     */
    public static Tensor packedSelfAttentionMerged(Tensor qkv, int heads, Tensor mask, boolean causal, double scale) {
        return packed(qkv, heads, mask, causal, scale, true);
    }

    private static Tensor packed(Tensor qkv, int heads, Tensor mask, boolean causal, double scale, boolean merged) {
        if (qkv.dim() != 3 || heads < 1 || qkv.shape(2) % (3 * heads) != 0) {
            throw new ShapeException("packed self-attention: qkv " + Shapes.str(qkv.shape()) + " is not [N, S, 3 x " + heads + " heads x D]");
        }
        boolean mixed = Autocast.applies(qkv);
        if (!mixed && !qkv.isContiguous()) return packed(Views.contiguous(qkv), heads, mask, causal, scale, merged);
        Tensor operand = mixed ? lower(qkv) : qkv;  // contiguous either way (a lowered copy is a new tensor)
        int n = qkv.shape(0), sl = qkv.shape(1), e = qkv.shape(2) / 3, d = e / heads;
        double sc = scale > 0 ? scale : 1.0 / Math.sqrt(d);
        Tensor out, lse;
        try {
            Backend be = Backends.of("attention", operand, mask);
            Tensor[] qkvViews = split(operand, heads);
            try {
                if (merged) {
                    // the output tensor [N, S, E], written through its [N, H, S, D] view
                    out = be.empty(mixed ? DType.F32 : operand.dtype(), n, sl, e);
                    try (Tensor view = headsView(out, heads)) {
                        lse = be.attentionInto(qkvViews[0], qkvViews[1], qkvViews[2], mask, causal, sc, view);
                    } catch (RuntimeException | Error ex) {
                        out.close();
                        throw ex;
                    }
                } else {
                    AttentionResult r = mixed ? be.attention(qkvViews[0], qkvViews[1], qkvViews[2], mask, causal, sc, DType.F32)
                            : be.attention(qkvViews[0], qkvViews[1], qkvViews[2], mask, causal, sc);
                    out = r.out();
                    lse = r.lse();
                }
            } finally {
                for (Tensor t : qkvViews) t.close();
            }
        } catch (RuntimeException | Error ex) {
            if (operand != qkv) operand.close();
            throw ex;
        }
        if (!Autograd.needsGrad(qkv)) {
            lse.close();
            if (operand != qkv) operand.close();
            return out;
        }
        int[] packed = qkv.shape();
        DType gradType = qkv.dtype();
        return Autograd.record(mixed ? "attention_packed_bf16" : "attention_packed", out, new Tensor[]{qkv},
                new Tensor[]{operand, out, lse, mask}, (g, s) -> {
            Backend bg = Backends.of(g);
            Tensor[] in = split(s[0], heads);
            Tensor go = mixed ? gradOperand(g) : g;
            // merged: the [N, S, E] output and its gradient as [N, H, S, D] views (read through their strides)
            Tensor goH = merged ? headsView(go, heads) : go, outH = merged ? headsView(s[1], heads) : s[1];
            // the backward writes gq, gk, gv straight into their slots of the packed gradient (every
            // element is written by one of the three); F32 under autocast, else qkv's dtype
            Tensor gqkv = bg.empty(gradType, packed);
            Tensor[] slots = split(gqkv, heads);
            boolean ok = false;
            try {
                bg.attentionBackwardInto(goH, in[0], in[1], in[2], outH, s[2], s[3], causal, sc, slots[0], slots[1], slots[2]);
                ok = true;
            } finally {
                for (Tensor t : in) t.close();
                for (Tensor t : slots) t.close();
                if (goH != go) goH.close();
                if (outH != s[1]) outH.close();
                if (go != g) go.close();
                if (!ok) gqkv.close();
            }
            return new Tensor[]{gqkv};
        });
    }

    /** An [N, S, H x D] tensor (any strides) as its [N, H, S, D] view (a new handle; the caller closes it). */
    private static Tensor headsView(Tensor t, int heads) {
        int[] st = t.strides();
        int n = t.shape(0), sl = t.shape(1), d = t.shape(2) / heads;
        return t.asStrided(new int[]{n, heads, sl, d}, new int[]{st[0], d * st[2], st[1], st[2]}, t.offset());
    }

    /**
     * An F32 operand lowered for the mixed-precision call, unrecorded (the node's backward returns the
     * F32 gradient itself): a BF16 copy on a backend that computes BF16, else an F32 copy rounded
     * through BF16 (the CPU emulation). Other dtypes and null pass unchanged.
     */
    static Tensor lower(Tensor t) {
        if (t == null || t.dtype() != DType.F32) return t;
        Backend be = Backends.of(t);
        Tensor h = be.cast(t, DType.BF16);
        if (Autocast.computesBf16(t.device())) return h;
        Tensor f = be.cast(h, DType.F32);
        h.close();
        return f;
    }

    /**
     * The output gradient handed to the mixed backward: itself where the backend rounds it to BF16 in
     * its kernels (CUDA), else a copy rounded through BF16 (the CPU emulation of that rounding).
     */
    private static Tensor gradOperand(Tensor g) {
        if (g.dtype() != DType.F32 || Autocast.computesBf16(g.device())) return g;
        return lower(g);
    }

    private static void closeLowered(Tensor[] lowered, Tensor... originals) {
        for (int i = 0; i < lowered.length; i++) if (lowered[i] != null && lowered[i] != originals[i]) lowered[i].close();
    }

    /** q, k and v of a contiguous [N, S, 3E] tensor as [N, H, S, D] views (new handles; the caller closes them). */
    private static Tensor[] split(Tensor qkv, int heads) {
        int n = qkv.shape(0), s = qkv.shape(1), e3 = qkv.shape(2), e = e3 / 3, d = e / heads;
        int[] shape = {n, heads, s, d}, strides = {s * e3, d, e3, 1};
        return new Tensor[]{qkv.asStrided(shape, strides, qkv.offset()), qkv.asStrided(shape, strides, qkv.offset() + e),
                qkv.asStrided(shape, strides, qkv.offset() + 2 * e)};
    }
}
