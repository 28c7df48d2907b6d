package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.cuda.DryRunDevice;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * BF16-autocast attention on a dry-run CUDA device is one mixed-precision node: the F32 operands are
 * lowered once, the mixed kernels write the F32 output and the F32 gradients, and nothing is cast
 * back (cast_copy is the dtype-converting copy kernel; cast_copy_raw copies without conversion).
 */
class AttentionAutocastDryRunTest {
    private static final String CAST = "cast_copy", RAW = "cast_copy_raw";

    private static int casts() { return DryRunDevice.launches(CAST); }

    @Test
    void packedSelfAttentionCastsOnlyThePackedQkvOnce() {
        int[] mixed = packedStep(true, false), plain = packedStep(false, false);
        // every mode reads the permuted output gradient through its strides: the same raw copies
        assertEquals(plain[1], mixed[1], "backward raw copies: F32 " + plain[1] + ", mixed " + mixed[1]);
    }

    /**
     * The backward writes gq, gk and gv straight into the packed [N, S, 3E] gradient (the kernels store
     * through the slots' strides) and reads the permuted output gradient and output through theirs: no
     * copy kernel. The one raw copy in each backward is the loss's (sum's backward broadcasts its scalar
     * gradient). Forward: the merged variant's kernel writes the [N, S, E] output directly, where
     * merging the [N, H, S, D] output's heads takes a copy.
     */
    @Test
    void packedBackwardWritesTheGradientSlotsInPlace() {
        for (boolean bf16 : new boolean[]{true, false}) {
            int[] merged = packedStep(bf16, true), split = packedStep(bf16, false);
            assertEquals(1, merged[1], "backward (merged, bf16 " + bf16 + "): only the loss's broadcast copy");
            assertEquals(1, split[1], "backward (bf16 " + bf16 + "): only the loss's broadcast copy");
            assertEquals(0, merged[2], "forward (merged, bf16 " + bf16 + "): no copy");
            assertEquals(1, split[2], "forward (bf16 " + bf16 + "): the heads' merge copies");
        }
    }

    /**
     * A packed self-attention forward and backward as MultiheadAttention runs it (heads merged back to
     * [N, S, E], so the output gradient arrives permuted), under BF16 autocast or plain F32; checks the
     * mixed kernels and cast counts and returns {backward casts, backward raw copies, forward raw copies
     * (attention and the merge)}. {@code merged}: {@link Attention#packedSelfAttentionMerged} instead
     * of the [N, H, S, D] result permuted and reshaped.
     */
    private static int[] packedStep(boolean bf16, boolean merged) {
        Device gpu = DryRunDevice.install();
        try (MemoryScope s = MemoryScope.open()) {
            Tensor qkv = Creation.to(Creation.randn(1, DType.F32, 2, 50, 3 * 64), gpu).requiresGrad(true);
            Tensor w = Creation.to(Creation.randn(2, DType.F32, 2, 50, 64), gpu);
            int c0 = casts(), fwd0 = DryRunDevice.launches("clipvil_attn_fwd_bf16f32_d32"), raw0 = DryRunDevice.launches(RAW);
            Tensor heads;
            try (Autocast.Guard g = bf16 ? Autocast.bf16() : Autocast.f32()) {
                heads = merged ? Attention.packedSelfAttentionMerged(qkv, 2, null, false, 0) : Attention.packedSelfAttention(qkv, 2, null, false, 0);
            }
            assertEquals(DType.F32, heads.dtype());
            if (bf16) {
                assertEquals(1, casts() - c0, "forward: the packed qkv lowered to BF16 once, the output written F32 by the kernel");
                assertEquals(1, DryRunDevice.launches("clipvil_attn_fwd_bf16f32_d32") - fwd0, "the tensor-core mixed forward");
            }
            Tensor out = merged ? heads : Views.reshape(Views.permute(heads, 0, 2, 1, 3), 2, 50, 64);
            assertArrayEquals(new int[]{2, 50, 64}, out.shape());
            int fwdRaw = DryRunDevice.launches(RAW) - raw0;
            Tensor loss = Reductions.sum(Elementwise.mul(out, w));
            int c1 = casts(), raw1 = DryRunDevice.launches(RAW), prep0 = DryRunDevice.launches("clipvil_attn_bwd_prep_f32bf16"),
                    bwd0 = DryRunDevice.launches("clipvil_attn_bwd_bf16tcf32_d32"), old0 = DryRunDevice.launches("clipvil_attn_f32_to_bf16");
            Autograd.backward(loss);
            int[] counts = {casts() - c1, DryRunDevice.launches(RAW) - raw1, fwdRaw};
            assertEquals(0, counts[0], "backward: F32 gradient in, F32 packed gradient out, no cast");
            if (bf16) {
                assertEquals(1, DryRunDevice.launches("clipvil_attn_bwd_prep_f32bf16") - prep0, "the mixed pre-kernel (rounds gOut once)");
                assertEquals(1, DryRunDevice.launches("clipvil_attn_bwd_bf16tcf32_d32") - bwd0, "the tensor-core mixed backward");
                assertEquals(0, DryRunDevice.launches("clipvil_attn_f32_to_bf16") - old0);
            }
            assertEquals(DType.F32, qkv.grad().dtype());
            return counts;
        }
    }

    @Test
    void scaledDotProductCastsEachOperandOnceAndNothingBack() {
        Device gpu = DryRunDevice.install();
        try (MemoryScope s = MemoryScope.open()) {
            Tensor[] in = new Tensor[3];
            for (int i = 0; i < 3; i++) in[i] = Creation.to(Creation.randn(3 + i, DType.F32, 2, 3, 17, 64), gpu).requiresGrad(true);
            Tensor w = Creation.to(Creation.randn(7, DType.F32, 2, 3, 17, 64), gpu);
            int c0 = casts();
            Tensor out;
            try (Autocast.Guard g = Autocast.bf16()) {
                out = Attention.scaledDotProduct(in[0], in[1], in[2], null, true, 0);
            }
            assertEquals(DType.F32, out.dtype());
            assertEquals(3, casts() - c0, "forward: q, k, v lowered once each");
            Tensor loss = Reductions.sum(Elementwise.mul(out, w));
            int c1 = casts();
            Autograd.backward(loss);
            assertEquals(0, casts() - c1, "backward: no cast");
            for (Tensor t : in) assertEquals(DType.F32, t.grad().dtype());
        }
    }
}
