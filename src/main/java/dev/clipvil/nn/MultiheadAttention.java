package dev.clipvil.nn;

import dev.clipvil.backend.CompareOp;
import dev.clipvil.ops.Attention;
import dev.clipvil.ops.Creation;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Views;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/**
 * Multi-head attention with {@code torch.nn.MultiheadAttention}'s parameters and state-dict layout:
 * "in_proj_weight" [3E, E] (q, k, v rows stacked; xavier-uniform), "in_proj_bias" [3E] (zeros),
 * "out_proj.weight" [E, E] and "out_proj.bias" [E] (zeros).
 *
 * <p>Inputs are <b>batch-first</b>, [N, S, E] (PyTorch's {@code batch_first=True}; its default is
 * [S, N, E]), so a port of OpenAI CLIP drops the NLD/LND permutes around the transformer. Masks follow
 * {@code nn.MultiheadAttention}: {@code attnMask} is [Sq, Sk] or [N*H, Sq, Sk], either additive (q's
 * dtype, e.g. -inf above the diagonal for CLIP's text causal mask) or BOOL where <b>true means the
 * position may not be attended</b>; {@code keyPaddingMask} [N, Sk] likewise (true = padding, ignored).
 * No attention dropout and no returned attention weights.
 */
public class MultiheadAttention extends Module {
    private final int embedDim, numHeads, headDim;
    private final Linear outProj;

    public MultiheadAttention(int embedDim, int numHeads) { this(embedDim, numHeads, Init.global()); }

    public MultiheadAttention(int embedDim, int numHeads, Init init) {
        if (embedDim < 1 || numHeads < 1 || embedDim % numHeads != 0) {
            throw new IllegalArgumentException("MultiheadAttention: embedDim (" + embedDim + ") must be a positive multiple of numHeads (" + numHeads + ")");
        }
        this.embedDim = embedDim;
        this.numHeads = numHeads;
        this.headDim = embedDim / numHeads;
        init.xavierUniform(registerParameter("in_proj_weight", Init.empty(3 * embedDim, embedDim)));
        Init.zeros(registerParameter("in_proj_bias", Init.empty(3 * embedDim)));
        outProj = registerModule("out_proj", new Linear(embedDim, embedDim, true, init));
        Init.zeros(outProj.bias());
    }

    /** Self-attention of {@code x} [N, S, E] with an optional mask (see the class comment). */
    public Tensor forward(Tensor x, Tensor attnMask) { return forward(x, x, x, attnMask, null); }

    /** Attention of {@code query} [N, Sq, E] over {@code key}, {@code value} [N, Sk, E]; returns [N, Sq, E]. */
    public Tensor forward(Tensor query, Tensor key, Tensor value, Tensor attnMask) { return forward(query, key, value, attnMask, null); }

    /** As {@link #forward(Tensor, Tensor, Tensor, Tensor)} with a key padding mask [N, Sk] (or null). */
    public Tensor forward(Tensor query, Tensor key, Tensor value, Tensor attnMask, Tensor keyPaddingMask) {
        checkInput("query", query);
        checkInput("key", key);
        checkInput("value", value);
        int n = query.shape(0), sq = query.shape(1), sk = key.shape(1);
        if (key.shape(0) != n || value.shape(0) != n || value.shape(1) != sk) {
            throw new ShapeException("MultiheadAttention: query " + Shapes.str(query.shape()) + ", key " + Shapes.str(key.shape())
                    + " and value " + Shapes.str(value.shape()) + " do not agree on batch and key length");
        }
        Tensor w = param("in_proj_weight"), b = param("in_proj_bias");
        Tensor mask = combinedMask(attnMask, keyPaddingMask, n, sq, sk, query.dtype());
        Tensor merged;                                                                   // [N, Sq, E]
        if (query == key && key == value) {
            // self-attention: one GEMM for q, k and v, read in place (one packed gradient in backward);
            // the output comes out with its heads merged (written so by the kernel: no copy)
            merged = Attention.packedSelfAttentionMerged(dev.clipvil.ops.Linear.linear(query, w, b), numHeads, mask, false, Double.NaN);
        } else {
            Tensor q = heads(project(query, w, b, 0), sq), k = heads(project(key, w, b, 1), sk), v = heads(project(value, w, b, 2), sk);
            Tensor o = Attention.scaledDotProduct(q, k, v, mask, false, Double.NaN);  // [N, H, Sq, D]
            merged = Views.reshape(Views.permute(o, 0, 2, 1, 3), n, sq, embedDim);
        }
        return outProj.forward(merged);
    }

    private void checkInput(String what, Tensor t) {
        if (t.dim() != 3 || t.shape(2) != embedDim) {
            throw new ShapeException("MultiheadAttention(E=" + embedDim + "): " + what + " must be batch-first [N, S, " + embedDim + "], got " + Shapes.str(t.shape()));
        }
    }

    /** x @ W_i^T + b_i with the i-th third of the packed projection (0 = q, 1 = k, 2 = v). */
    private Tensor project(Tensor x, Tensor w, Tensor b, int i) {
        return dev.clipvil.ops.Linear.linear(x, Views.narrow(w, 0, i * embedDim, embedDim), Views.narrow(b, 0, i * embedDim, embedDim));
    }

    /** [N, S, E] -> [N, H, S, D] (a view). */
    private Tensor heads(Tensor t, int s) {
        return Views.permute(Views.view(t, t.shape(0), s, numHeads, headDim), 0, 2, 1, 3);
    }

    /**
     * The two PyTorch-style masks as one mask for {@link Attention}: null, a BOOL "may attend" mask, or
     * an additive mask, broadcastable to [N, H, Sq, Sk].
     */
    private Tensor combinedMask(Tensor attnMask, Tensor keyPadding, int n, int sq, int sk, DType dtype) {
        Tensor a = null, p = null;
        if (attnMask != null) {
            if (attnMask.dim() == 2) {
                requireShape("attnMask", attnMask, sq, sk);
                a = attnMask;
            } else if (attnMask.dim() == 3) {
                requireShape("attnMask", attnMask, n * numHeads, sq, sk);
                a = Views.reshape(attnMask, n, numHeads, sq, sk);
            } else {
                throw new ShapeException("MultiheadAttention: attnMask must be [Sq, Sk] or [N*H, Sq, Sk], got " + Shapes.str(attnMask.shape()));
            }
        }
        if (keyPadding != null) {
            requireShape("keyPaddingMask", keyPadding, n, sk);
            p = Views.reshape(keyPadding, n, 1, 1, sk);
        }
        if (a == null && p == null) return null;
        if (p == null) return asAttentionMask(a, dtype);
        if (a == null) return asAttentionMask(p, dtype);
        return Elementwise.add(additive(a, dtype), additive(p, dtype));
    }

    private static void requireShape(String what, Tensor t, int... shape) {
        if (!java.util.Arrays.equals(t.shape(), shape)) {
            throw new ShapeException("MultiheadAttention: " + what + " must have shape " + Shapes.str(shape) + ", got " + Shapes.str(t.shape()));
        }
    }

    /** A PyTorch-style mask (BOOL true = blocked, or additive) as Attention wants it (BOOL true = attend, or additive). */
    private static Tensor asAttentionMask(Tensor m, DType dtype) {
        if (m.dtype() != DType.BOOL) return additive(m, dtype);
        try (Tensor no = Creation.onDevice(Tensor.scalar(DType.BOOL, 0), m.device())) {
            return Elementwise.compare(CompareOp.EQ, m, no);
        }
    }

    /** A PyTorch-style mask as an additive one of {@code dtype} (BOOL true becomes -inf). */
    private static Tensor additive(Tensor m, DType dtype) {
        if (m.dtype() == DType.BOOL) {
            try (Tensor blocked = Creation.onDevice(Tensor.scalar(dtype, Double.NEGATIVE_INFINITY), m.device());
                 Tensor open = Creation.onDevice(Tensor.scalar(dtype, 0), m.device())) {
                return Elementwise.where(m, blocked, open);
            }
        }
        if (m.dtype() != dtype) throw new DTypeException("MultiheadAttention: an additive mask must have the query's dtype " + dtype + ", got " + m.describe());
        return m;
    }

    public Linear outProj() { return outProj; }

    public int embedDim() { return embedDim; }

    public int numHeads() { return numHeads; }
}
