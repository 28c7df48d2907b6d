package dev.clipvil.backend.cuda;

import dev.clipvil.backend.AttentionResult;
import dev.clipvil.backend.cpu.CpuBackend;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.MemoryScope;
import dev.clipvil.tensor.Tensor;
import dev.clipvil.testing.GpuAvailable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static dev.clipvil.backend.cuda.KernelTestSupport.assertClose;
import static dev.clipvil.backend.cuda.KernelTestSupport.f64;
import static dev.clipvil.backend.cuda.KernelTestSupport.gpu;
import static dev.clipvil.backend.cuda.KernelTestSupport.random;
import static dev.clipvil.backend.cuda.KernelTestSupport.up;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * kernels/attention.cu against the CPU backend in F64 on the same (BF16-rounded where BF16) inputs:
 * forward out and lse, backward gq/gk/gv; CLIP's sequence lengths, head dims 32..128 (and 48, which
 * runs the 64 instantiation), additive / BOOL / causal masks, Sq != Sk, non-contiguous q, a row with
 * every key masked; BF16 through the tensor-core kernels (the backward's d80/d96/d128 with dynamic
 * shared memory) and through the SIMT ones; mixed precision (BF16 q/k/v, F32 gOut, out and gradients:
 * the bf16f32 kernels) through both. Device memory is NaN-poisoned on allocation.
 */
@Tag("gpu")
@ExtendWith(GpuAvailable.class)
class CudaAttentionTest {
    /** Every device allocation starts as NaN: an output element a kernel leaves unwritten fails the comparison. */
    @BeforeEach
    void poisonOn() { CudaMemory.setPoison(true); }

    @AfterEach
    void poisonOff() { CudaMemory.setPoison(false); }

    enum Mask { NONE, ADD_BROADCAST, ADD_FULL, BOOL_PADDING, BOOL_EMPTY_ROW }

    record Case(int b, int h, int sq, int sk, int d, Mask mask, boolean causal, boolean permutedQ) {}

    private static final Case[] CASES = {
        new Case(2, 3, 50, 50, 32, Mask.NONE, false, false),
        new Case(2, 2, 77, 77, 64, Mask.ADD_BROADCAST, true, true),
        new Case(1, 2, 197, 197, 128, Mask.BOOL_PADDING, false, true),
        new Case(2, 1, 50, 77, 80, Mask.NONE, true, false),
        new Case(1, 2, 33, 19, 48, Mask.ADD_FULL, false, false),
        new Case(1, 1, 20, 70, 96, Mask.BOOL_EMPTY_ROW, false, false),
        new Case(1, 2, 257, 257, 64, Mask.NONE, false, false),
    };

    /**
     * The tensor-core backward at the head dims that take dynamic shared memory (instantiations 80,
     * 96, 128; also run partially filled: 72, 88, 120): several key blocks with a ragged last one,
     * Sq != Sk both ways, causal, every mask kind, permuted q.
     */
    private static final Case[] LARGE_HEAD_DIMS = {
        new Case(2, 2, 77, 77, 80, Mask.ADD_BROADCAST, true, true),
        new Case(1, 3, 197, 131, 72, Mask.BOOL_PADDING, false, false),
        new Case(2, 1, 50, 197, 96, Mask.ADD_FULL, false, true),
        new Case(1, 2, 129, 70, 88, Mask.BOOL_EMPTY_ROW, true, false),
        new Case(2, 2, 257, 257, 128, Mask.NONE, true, false),
        new Case(1, 1, 77, 50, 120, Mask.ADD_BROADCAST, false, true),
    };

    @Test
    void f32MatchesCpu() {
        CudaContext ctx = gpu();
        for (Case c : CASES) run(ctx, c, DType.F32, 1e-5, false);
    }

    @Test
    void bf16TensorCoresMatchCpu() {
        CudaContext ctx = gpu();
        for (Case c : CASES) run(ctx, c, DType.BF16, 2e-2, false);
    }

    @Test
    void bf16TensorCoreBackwardAtLargeHeadDimsMatchesCpu() {
        CudaContext ctx = gpu();
        for (Case c : LARGE_HEAD_DIMS) run(ctx, c, DType.BF16, 2e-2, false);
        for (Case c : LARGE_HEAD_DIMS) run(ctx, c, DType.BF16, 2e-2, true);  // the SIMT cross-check on the same cases
    }

    @Test
    void bf16SimtMatchesCpu() {
        CudaContext ctx = gpu();
        for (Case c : CASES) run(ctx, c, DType.BF16, 2e-2, true);
    }

    /**
     * Mixed precision (the autocast path): BF16 q/k/v, an F32 output gradient that is not BF16-valued
     * (so the pre-kernel's rounding is exercised; permuted in the permuted cases, read through its
     * strides), F32 out and gradients written by the kernels; tensor
     * cores and the SIMT cross-check, at CLIP's shapes and at the large head dims.
     */
    @Test
    void mixedPrecisionMatchesCpu() {
        CudaContext ctx = gpu();
        for (boolean simt : new boolean[]{false, true}) {
            for (Case c : CASES) runMixed(ctx, c, simt);
            for (Case c : LARGE_HEAD_DIMS) runMixed(ctx, c, simt);
        }
    }

    private static void runMixed(CudaContext ctx, Case c, boolean simt) {
        String what = "mixed" + (simt ? " simt " : " ") + c;
        double scale = 1.0 / Math.sqrt(c.d);
        double tol = 2e-2;
        try (MemoryScope scope = MemoryScope.open()) {
            long seed = 37L * c.sq + c.d;
            DType bf = DType.BF16;
            Tensor q = c.permutedQ ? random(bf, seed, -1, 1, c.b, c.sq, c.h, c.d) : random(bf, seed, -1, 1, c.b, c.h, c.sq, c.d);
            Tensor k = random(bf, seed + 1, -1, 1, c.b, c.h, c.sk, c.d);
            Tensor v = random(bf, seed + 2, -1, 1, c.b, c.h, c.sk, c.d);
            // gOut permuted like q in the permuted cases (the gradient of an output permuted to [B, Sq, H, D]
            // arrives so; the pre-kernel reads it through its strides)
            Tensor go = c.permutedQ ? random(DType.F32, seed + 3, -1, 1, c.b, c.sq, c.h, c.d) : random(DType.F32, seed + 3, -1, 1, c.b, c.h, c.sq, c.d);
            Tensor m = hostMask(c, seed + 4);

            Tensor q64 = view(f64(q), c), k64 = f64(k), v64 = f64(v), go64 = view(f64(go), c);
            Tensor m64 = m == null ? null : m.dtype() == DType.BOOL ? m : f64(m);
            AttentionResult ref = CpuBackend.get().attention(q64, k64, v64, m64, c.causal, scale);
            Tensor[] refG = CpuBackend.get().attentionBackward(go64, q64, k64, v64, ref.out(), ref.lse(), m64, c.causal, scale);

            Tensor dq = view(up(ctx, q, bf), c), dk = up(ctx, k, bf), dv = up(ctx, v, bf), dgo = view(up(ctx, go, DType.F32), c);
            Tensor dm = m == null ? null : up(ctx, m, m.dtype());
            AttentionResult got = CudaAttention.forward(ctx, dq, dk, dv, dm, c.causal, scale, simt, DType.F32);
            assertEquals(DType.F32, got.out().dtype(), what);
            assertClose(what + " out", got.out(), ref.out(), tol);
            assertClose(what + " lse", got.lse(), ref.lse(), tol);

            Tensor[] g = CudaAttention.backward(ctx, dgo, dq, dk, dv, got.out(), got.lse(), dm, c.causal, scale, simt, DType.F32);
            String[] names = {" gq", " gk", " gv"};
            for (int i = 0; i < 3; i++) {
                assertEquals(DType.F32, g[i].dtype(), what + names[i]);
                assertClose(what + names[i], g[i], refG[i], tol);
            }
        }
    }

    /**
     * The packed self-attention's layouts: q, k, v slots of a packed [B, S, 3E] input;
     * {@link CudaAttention#forwardInto} the [B, H, S, D] view of a [B, S, E] output (heads merged,
     * strides {S*E, D, E, 1}); {@link CudaAttention#backwardInto} from a [B, S, E] output gradient
     * (read through the same strides) straight into the q, k, v slots of one packed [B, S, 3E] gradient
     * (strides {S*3E, D, 3E, 1}). Every mode (F32; BF16 tensor cores and SIMT; mixed tensor cores and
     * SIMT) at static and dynamic-shared-memory head dims, against the CPU in F64. Output and packed
     * gradient start NaN-poisoned, so an element no kernel writes fails.
     */
    @Test
    void packedGradientsMatchCpu() {
        CudaContext ctx = gpu();
        Case[] cases = {
            new Case(2, 3, 50, 50, 64, Mask.NONE, false, false),
            new Case(2, 2, 77, 77, 80, Mask.BOOL_PADDING, true, false),
            new Case(1, 2, 197, 197, 128, Mask.ADD_BROADCAST, false, false),
            new Case(2, 2, 70, 70, 48, Mask.NONE, true, false),
        };
        for (Case c : cases) {
            runPacked(ctx, c, DType.F32, DType.F32, false, 1e-5);
            for (boolean simt : new boolean[]{false, true}) {
                runPacked(ctx, c, DType.BF16, DType.BF16, simt, 2e-2);
                runPacked(ctx, c, DType.BF16, DType.F32, simt, 2e-2);
            }
        }
    }

    private static void runPacked(CudaContext ctx, Case c, DType dt, DType gradType, boolean simt, double tol) {
        String what = "packed " + dt + " -> " + gradType + (simt ? " simt " : " ") + c;
        double scale = 1.0 / Math.sqrt(c.d);
        int e = c.h * c.d;
        try (MemoryScope scope = MemoryScope.open()) {
            long seed = 41L * c.sq + c.d;
            Tensor qkv = random(dt, seed, -1, 1, c.b, c.sq, 3 * e);
            Tensor go = random(gradType, seed + 3, -1, 1, c.b, c.sq, e);  // [B, S, E]: the merged output's gradient
            Tensor m = hostMask(c, seed + 4);

            Tensor[] in64 = slots(f64(qkv), c.h);
            Tensor go64 = heads(f64(go), c.h), m64 = m == null ? null : m.dtype() == DType.BOOL ? m : f64(m);
            AttentionResult ref = CpuBackend.get().attention(in64[0], in64[1], in64[2], m64, c.causal, scale);
            Tensor[] refG = CpuBackend.get().attentionBackward(go64, in64[0], in64[1], in64[2], ref.out(), ref.lse(), m64, c.causal, scale);

            Tensor[] in = slots(up(ctx, qkv, dt), c.h);
            Tensor dgo = heads(up(ctx, go, gradType), c.h), dm = m == null ? null : up(ctx, m, m.dtype());
            Tensor outMerged = KernelSupport.empty(ctx, gradType, c.b, c.sq, e);  // NaN-poisoned
            Tensor out = heads(outMerged, c.h);
            Tensor lse = CudaAttention.forwardInto(ctx, in[0], in[1], in[2], dm, c.causal, scale, simt, out);
            assertClose(what + " out", CudaCopy.contiguous(ctx, out), ref.out(), tol);
            assertClose(what + " lse", lse, ref.lse(), tol);
            Tensor gPacked = KernelSupport.empty(ctx, gradType, c.b, c.sq, 3 * e);  // NaN-poisoned
            Tensor[] g = slots(gPacked, c.h);
            CudaAttention.backwardInto(ctx, dgo, in[0], in[1], in[2], out, lse, dm, c.causal, scale, simt, g[0], g[1], g[2]);
            String[] names = {" gq", " gk", " gv"};
            for (int i = 0; i < 3; i++) assertClose(what + names[i], CudaCopy.contiguous(ctx, g[i]), refG[i], tol);
        }
    }

    /** The [B, H, S, D] view of a [B, S, H x D] tensor (a new handle; {@code t} stays open). */
    private static Tensor heads(Tensor t, int heads) {
        int b = t.shape(0), s = t.shape(1), e = t.shape(2), d = e / heads;
        return t.asStrided(new int[]{b, heads, s, d}, new int[]{s * e, d, e, 1}, t.offset());
    }

    /** The q, k, v [B, H, S, D] views of a packed [B, S, 3E] tensor. */
    private static Tensor[] slots(Tensor p, int heads) {
        int b = p.shape(0), s = p.shape(1), e = p.shape(2) / 3, d = e / heads;
        int[] shape = {b, heads, s, d}, st = {s * 3 * e, d, 3 * e, 1};
        return new Tensor[]{p.asStrided(shape, st, p.offset()), p.asStrided(shape, st, p.offset() + e), p.asStrided(shape, st, p.offset() + 2 * e)};
    }

    /** Host mask (F32 for additive, BOOL as 0/1 bytes) of the case, or null. */
    private static Tensor hostMask(Case c, long seed) {
        switch (c.mask) {
            case NONE: return null;
            case ADD_BROADCAST: return random(DType.F32, seed, -2, 2, 1, 1, c.sq, c.sk);
            case ADD_FULL: return random(DType.F32, seed, -2, 2, c.b, c.h, c.sq, c.sk);
            case BOOL_PADDING: {
                Tensor m = Tensor.empty(DType.BOOL, c.b, 1, 1, c.sk);
                byte[] a = m.hostStorage().bool();
                for (int bi = 0; bi < c.b; bi++) for (int j = 0; j < c.sk; j++) a[bi * c.sk + j] = (byte) (j < c.sk - 7 - 3 * bi ? 1 : 0);
                return m;
            }
            default: {
                Tensor m = Tensor.empty(DType.BOOL, 1, 1, c.sq, c.sk);
                byte[] a = m.hostStorage().bool();
                for (int i = 0; i < c.sq; i++) for (int j = 0; j < c.sk; j++) a[i * c.sk + j] = (byte) (i == 3 || (i + j) % 5 == 0 ? 0 : 1);
                return m;
            }
        }
    }

    private static void run(CudaContext ctx, Case c, DType dt, double tol, boolean simt) {
        String what = dt + (simt ? " simt " : " ") + c;
        double scale = 1.0 / Math.sqrt(c.d);
        try (MemoryScope scope = MemoryScope.open()) {
            long seed = 31L * c.sq + c.d;
            // q is generated as [B, Sq, H, D] and viewed as [B, H, Sq, D] when permuted (non-contiguous)
            Tensor q = c.permutedQ ? random(dt, seed, -1, 1, c.b, c.sq, c.h, c.d) : random(dt, seed, -1, 1, c.b, c.h, c.sq, c.d);
            Tensor k = random(dt, seed + 1, -1, 1, c.b, c.h, c.sk, c.d);
            Tensor v = random(dt, seed + 2, -1, 1, c.b, c.h, c.sk, c.d);
            Tensor go = random(dt, seed + 3, -1, 1, c.b, c.h, c.sq, c.d);
            Tensor m = hostMask(c, seed + 4);

            Tensor q64 = view(f64(q), c), k64 = f64(k), v64 = f64(v), go64 = f64(go);
            Tensor m64 = m == null ? null : m.dtype() == DType.BOOL ? m : f64(m);
            AttentionResult ref = CpuBackend.get().attention(q64, k64, v64, m64, c.causal, scale);
            Tensor[] refG = CpuBackend.get().attentionBackward(go64, q64, k64, v64, ref.out(), ref.lse(), m64, c.causal, scale);

            Tensor dq = view(up(ctx, q, dt), c), dk = up(ctx, k, dt), dv = up(ctx, v, dt), dgo = up(ctx, go, dt);
            Tensor dm = m == null ? null : up(ctx, m, m.dtype());
            AttentionResult got = CudaAttention.forward(ctx, dq, dk, dv, dm, c.causal, scale, simt);
            assertClose(what + " out", got.out(), ref.out(), tol);
            assertClose(what + " lse", got.lse(), ref.lse(), tol);

            Tensor[] g = CudaAttention.backward(ctx, dgo, dq, dk, dv, got.out(), got.lse(), dm, c.causal, scale, simt);
            assertClose(what + " gq", g[0], refG[0], tol);
            assertClose(what + " gk", g[1], refG[1], tol);
            assertClose(what + " gv", g[2], refG[2], tol);
        }
    }

    /** q as [B, H, Sq, D]: a permuted view of [B, Sq, H, D] storage for the permuted cases. */
    private static Tensor view(Tensor q, Case c) {
        if (!c.permutedQ) return q;
        Tensor v = q.asStrided(new int[]{c.b, c.h, c.sq, c.d}, new int[]{c.sq * c.h * c.d, c.d, c.h * c.d, 1}, q.offset());
        q.close();
        return v;
    }
}
