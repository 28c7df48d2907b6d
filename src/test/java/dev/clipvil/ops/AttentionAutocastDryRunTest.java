package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.cuda.DryRunDevice;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * BF16-autocast attention on a dry-run CUDA device is one mixed-precision node: the F32 operands are
 * lowered once, the mixed kernels write the F32 output and the F32 gradients, and nothing is cast
 * back (cast_copy is the dtype-converting copy kernel; cast_copy_raw copies without conversion).
 */
class AttentionAutocastDryRunTest {
    private static final String CAST = "cast_copy";

    private static int casts() { return DryRunDevice.launches(CAST); }

    @Test
    void packedSelfAttentionCastsOnlyThePackedQkvOnce() {
        Device gpu = DryRunDevice.install();
        try (MemoryScope s = MemoryScope.open()) {
            Tensor qkv = Creation.to(Creation.randn(1, DType.F32, 2, 50, 3 * 64), gpu).requiresGrad(true);
            Tensor w = Creation.to(Creation.randn(2, DType.F32, 2, 2, 50, 32), gpu);
            int c0 = casts(), fwd0 = DryRunDevice.launches("clipvil_attn_fwd_bf16f32_d32");
            Tensor out;
            try (Autocast.Guard g = Autocast.bf16()) {
                out = Attention.packedSelfAttention(qkv, 2, null, false, 0);
            }
            assertEquals(DType.F32, out.dtype());
            assertEquals(1, casts() - c0, "forward: the packed qkv lowered to BF16 once, the output written F32 by the kernel");
            assertEquals(1, DryRunDevice.launches("clipvil_attn_fwd_bf16f32_d32") - fwd0, "the tensor-core mixed forward");

            Tensor loss = Reductions.sum(Elementwise.mul(out, w));
            int c1 = casts(), prep0 = DryRunDevice.launches("clipvil_attn_bwd_prep_f32bf16"),
                    bwd0 = DryRunDevice.launches("clipvil_attn_bwd_bf16tcf32_d32"), old0 = DryRunDevice.launches("clipvil_attn_f32_to_bf16");
            Autograd.backward(loss);
            assertEquals(0, casts() - c1, "backward: F32 gradient in, F32 packed gradient out, no cast");
            assertEquals(1, DryRunDevice.launches("clipvil_attn_bwd_prep_f32bf16") - prep0, "the mixed pre-kernel (rounds gOut once)");
            assertEquals(1, DryRunDevice.launches("clipvil_attn_bwd_bf16tcf32_d32") - bwd0, "the tensor-core mixed backward");
            assertEquals(0, DryRunDevice.launches("clipvil_attn_f32_to_bf16") - old0);
            assertEquals(DType.F32, qkv.grad().dtype());
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
