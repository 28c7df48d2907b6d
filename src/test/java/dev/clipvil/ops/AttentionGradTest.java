package dev.clipvil.ops;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GradCheck;
import org.junit.jupiter.api.Test;

import static dev.clipvil.testing.GradCheck.input;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AttentionGradTest {
    private static final double DEFAULT = Double.NaN;

    @Test
    void plainAndCausal() {
        Tensor q = input(1, 2, 2, 3, 4), k = input(2, 2, 2, 5, 4), v = input(3, 2, 2, 5, 3);
        GradCheck.check("attention", t -> Attention.scaledDotProduct(t[0], t[1], t[2], null, false, DEFAULT), q, k, v);
        GradCheck.check("attention(causal, Sq<Sk)", t -> Attention.scaledDotProduct(t[0], t[1], t[2], null, true, 0.7), q, k, v);
        Tensor q2 = input(4, 1, 2, 5, 4), k2 = input(5, 1, 2, 3, 4), v2 = input(6, 1, 2, 3, 4);
        GradCheck.check("attention(causal, Sq>Sk)", t -> Attention.scaledDotProduct(t[0], t[1], t[2], null, true, 0), q2, k2, v2);
    }

    /** The three heads' views of a packed [N, S, 3E] projection, through recorded views (the unpacked route). */
    private static Tensor unpacked(Tensor qkv, int heads, Tensor mask, boolean causal) {
        int n = qkv.shape(0), s = qkv.shape(1), d = qkv.shape(2) / (3 * heads);
        Tensor per = Views.permute(Views.view(qkv, n, s, 3, heads, d), 2, 0, 3, 1, 4);
        return Attention.scaledDotProduct(Views.select(per, 0, 0), Views.select(per, 0, 1), Views.select(per, 0, 2), mask, causal, DEFAULT);
    }

    @Test
    void packedSelfAttention() {
        Tensor qkv = input(21, 2, 5, 18); // N 2, S 5, 2 heads of D 3
        Tensor pad = Tensor.ofBools(new boolean[]{true, true, true, false, true, true, true, true, true, true}, 2, 1, 1, 5);
        GradCheck.check("attention_packed", t -> Attention.packedSelfAttention(t[0], 2, null, false, DEFAULT), qkv);
        GradCheck.check("attention_packed(key padding + causal)", t -> Attention.packedSelfAttention(t[0], 2, pad, true, DEFAULT), qkv);
        GradCheck.check("attention_packed(transposed input)", t -> Attention.packedSelfAttention(Views.transpose(t[0], 0, 1), 2, null, false, DEFAULT),
                input(22, 5, 2, 18));
        // the same values and gradients as three recorded slices
        for (boolean causal : new boolean[]{false, true}) {
            float[][] packed = AutocastTest.run(t -> Attention.packedSelfAttention(t[0], 2, pad, causal, DEFAULT), AutocastTest.in(23, 2, 5, 18));
            float[][] sliced = AutocastTest.run(t -> unpacked(t[0], 2, pad, causal), AutocastTest.in(23, 2, 5, 18));
            for (int i = 0; i < packed.length; i++) {
                assertArrayEquals(sliced[i], packed[i], 1e-6f, (i == 0 ? "output" : "gradient") + ", causal " + causal);
            }
        }
        assertThrows(ShapeException.class,
                () -> Attention.packedSelfAttention(input(24, 2, 5, 16), 2, null, false, DEFAULT));
    }

    /** The merged variant: [N, S, E] written through the heads' strides, the gradient read through them. */
    @Test
    void packedSelfAttentionMerged() {
        Tensor qkv = input(25, 2, 5, 18);
        Tensor pad = Tensor.ofBools(new boolean[]{true, true, true, false, true, true, true, true, true, true}, 2, 1, 1, 5);
        GradCheck.check("attention_packed_merged", t -> Attention.packedSelfAttentionMerged(t[0], 2, null, false, DEFAULT), qkv);
        GradCheck.check("attention_packed_merged(key padding + causal)", t -> Attention.packedSelfAttentionMerged(t[0], 2, pad, true, DEFAULT), qkv);
        // a non-contiguous (transposed) gradient reaching the node
        GradCheck.check("attention_packed_merged(transposed after)",
                t -> Views.transpose(Attention.packedSelfAttentionMerged(t[0], 2, null, true, DEFAULT), 0, 1), qkv);
        // the same values and gradients as the [N, H, S, D] result with its heads merged by a permute and
        // reshape, in F32 and under BF16 autocast (the CPU's emulation of the mixed node)
        for (boolean bf16 : new boolean[]{false, true}) {
            for (boolean causal : new boolean[]{false, true}) {
                float[][] merged, viaPermute;
                try (Autocast.Guard g = bf16 ? Autocast.bf16() : Autocast.f32()) {
                    merged = AutocastTest.run(t -> Attention.packedSelfAttentionMerged(t[0], 2, pad, causal, DEFAULT), AutocastTest.in(26, 2, 5, 18));
                    viaPermute = AutocastTest.run(t -> Views.reshape(Views.permute(Attention.packedSelfAttention(t[0], 2, pad, causal, DEFAULT), 0, 2, 1, 3), 2, 5, 6),
                            AutocastTest.in(26, 2, 5, 18));
                }
                for (int i = 0; i < merged.length; i++) {
                    assertArrayEquals(viaPermute[i], merged[i], 0f, (i == 0 ? "output" : "gradient") + ", causal " + causal + ", bf16 " + bf16);
                }
            }
        }
    }

    @Test
    void masks() {
        Tensor q = input(7, 2, 2, 3, 4), k = input(8, 2, 2, 4, 4), v = input(9, 2, 2, 4, 4);
        // row 1 hidden entirely: zero output and zero gradient through it
        Tensor bool = Tensor.ofBools(new boolean[]{true, false, true, true, false, false, false, false, true, true, false, true}, 3, 4);
        GradCheck.check("attention(bool [Sq,Sk])", t -> Attention.scaledDotProduct(t[0], t[1], t[2], bool, false, DEFAULT), q, k, v);
        Tensor pad = Tensor.ofBools(new boolean[]{true, true, true, false, true, true, false, false}, 2, 1, 1, 4);
        GradCheck.check("attention(key padding + causal)", t -> Attention.scaledDotProduct(t[0], t[1], t[2], pad, true, DEFAULT), q, k, v);
        Tensor add = Creation.randn(10, DType.F64, 1, 2, 3, 4);
        GradCheck.check("attention(additive [1,H,Sq,Sk])", t -> Attention.scaledDotProduct(t[0], t[1], t[2], add, false, 0.5), q, k, v);
        Tensor addKeys = Creation.randn(11, DType.F64, 4);
        GradCheck.check("attention(additive [Sk] + causal)", t -> Attention.scaledDotProduct(t[0], t[1], t[2], addKeys, true, 0.5), q, k, v);
    }

    @Test
    void nonContiguousInputs() {
        // [B, S, H, D] leaves viewed as [B, H, S, D], the way heads are split
        Tensor qs = input(12, 2, 3, 2, 4), ks = input(13, 2, 5, 2, 4), vs = input(14, 2, 5, 2, 4);
        GradCheck.check("attention(permuted q/k/v)", t -> Attention.scaledDotProduct(
                Views.permute(t[0], 0, 2, 1, 3), Views.permute(t[1], 0, 2, 1, 3), Views.permute(t[2], 0, 2, 1, 3), null, true, DEFAULT), qs, ks, vs);
        Tensor vt = input(15, 1, 2, 3, 5);
        GradCheck.check("attention(transposed v)", t -> Attention.scaledDotProduct(t[0], t[1], Views.transpose(t[2], 2, 3), null, false, DEFAULT),
                input(16, 1, 2, 4, 3), input(17, 1, 2, 5, 3), vt);
    }
}
