package dev.clipvil.backend.cpu;

import dev.clipvil.backend.AttentionResult;
import dev.clipvil.ops.Creation;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The Backend defaults of the mixed-precision attention calls (the CPU backend does not override them):
 * with the result dtype equal to q's they are the plain calls; otherwise the plain calls in q's dtype
 * (gOut and out converted to it first) with the results cast.
 */
class MixedAttentionDefaultsTest {
    private static final CpuBackend BE = CpuBackend.get();

    @Test
    void sameDtypeIsThePlainCall() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor q = Creation.randn(1, DType.F32, 1, 2, 5, 8), k = Creation.randn(2, DType.F32, 1, 2, 6, 8), v = Creation.randn(3, DType.F32, 1, 2, 6, 8);
            Tensor go = Creation.randn(4, DType.F32, 1, 2, 5, 8);
            AttentionResult plain = BE.attention(q, k, v, null, true, 0.3), mixed = BE.attention(q, k, v, null, true, 0.3, DType.F32);
            assertArrayEquals(plain.out().toFloatArray(), mixed.out().toFloatArray(), 0f);
            assertArrayEquals(plain.lse().toFloatArray(), mixed.lse().toFloatArray(), 0f);
            Tensor[] a = BE.attentionBackward(go, q, k, v, plain.out(), plain.lse(), null, true, 0.3);
            Tensor[] b = BE.attentionBackward(go, q, k, v, plain.out(), plain.lse(), null, true, 0.3, DType.F32);
            for (int i = 0; i < 3; i++) assertArrayEquals(a[i].toFloatArray(), b[i].toFloatArray(), 0f, "gradient " + i);
        }
    }

    @Test
    void otherDtypesComputeInQsDtypeThenCast() {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor q = Creation.randn(5, DType.F64, 2, 1, 4, 8), k = Creation.randn(6, DType.F64, 2, 1, 7, 8), v = Creation.randn(7, DType.F64, 2, 1, 7, 8);
            Tensor go32 = Creation.randn(8, DType.F32, 2, 1, 4, 8);
            AttentionResult ref = BE.attention(q, k, v, null, false, 0.25);
            AttentionResult mixed = BE.attention(q, k, v, null, false, 0.25, DType.F32);
            assertEquals(DType.F32, mixed.out().dtype());
            assertArrayEquals(BE.cast(ref.out(), DType.F32).toFloatArray(), mixed.out().toFloatArray(), 0f);
            Tensor[] want = BE.attentionBackward(BE.cast(go32, DType.F64), q, k, v, BE.cast(mixed.out(), DType.F64), ref.lse(), null, false, 0.25);
            Tensor[] got = BE.attentionBackward(go32, q, k, v, mixed.out(), ref.lse(), null, false, 0.25, DType.F32);
            for (int i = 0; i < 3; i++) {
                assertEquals(DType.F32, got[i].dtype());
                assertArrayEquals(BE.cast(want[i], DType.F32).toFloatArray(), got[i].toFloatArray(), 0f, "gradient " + i);
            }
        }
    }

    /**
     * attentionBackwardInto's default: the plain (same dtype) or mixed call, its results copied into the
     * given views, here the q, k, v slots of one packed [N, S, 3E] gradient (strides {S*3E, D, 3E, 1}).
     */
    @Test
    void backwardIntoFillsStridedSlots() {
        try (MemoryScope s = MemoryScope.open()) {
            int n = 2, h = 2, sl = 5, d = 4, e = h * d;
            Tensor qkv = Creation.randn(9, DType.F64, n, sl, 3 * e);
            Tensor[] in = slots(qkv, h);
            Tensor go = Creation.randn(10, DType.F64, n, h, sl, d);
            AttentionResult r = BE.attention(in[0], in[1], in[2], null, true, 0.4);
            Tensor[] want = BE.attentionBackward(go, in[0], in[1], in[2], r.out(), r.lse(), null, true, 0.4);
            for (DType gt : new DType[]{DType.F64, DType.F32}) {
                Tensor packed = Tensor.empty(gt, n, sl, 3 * e);
                BE.fill(packed, Double.NaN);
                Tensor[] g = slots(packed, h);
                BE.attentionBackwardInto(go, in[0], in[1], in[2], r.out(), r.lse(), null, true, 0.4, g[0], g[1], g[2]);
                for (int i = 0; i < 3; i++) {
                    assertEquals(gt, g[i].dtype());
                    assertArrayEquals(BE.cast(want[i], DType.F32).toFloatArray(), BE.cast(g[i], DType.F32).toFloatArray(), gt == DType.F64 ? 0f : 1e-6f,
                            gt + " gradient " + i);
                }
                for (float x : packed.toFloatArray()) assertEquals(false, Float.isNaN(x), "every element of the packed gradient is written");
            }
        }
    }

    private static Tensor[] slots(Tensor p, int heads) {
        int n = p.shape(0), sl = p.shape(1), e = p.shape(2) / 3, d = e / heads;
        int[] shape = {n, heads, sl, d}, st = {sl * 3 * e, d, 3 * e, 1};
        return new Tensor[]{p.asStrided(shape, st, p.offset()), p.asStrided(shape, st, p.offset() + e), p.asStrided(shape, st, p.offset() + 2 * e)};
    }
}
