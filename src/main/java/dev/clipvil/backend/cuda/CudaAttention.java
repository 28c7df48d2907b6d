package dev.clipvil.backend.cuda;

import dev.clipvil.backend.AttentionResult;
import dev.clipvil.backend.cpu.CpuBackend;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.Arrays;

/**
 * Fused attention on the GPU (kernels/attention.cu). Parameters mirror {@code Backend.attention}/
 * {@code attentionBackward} with the device context first.
 *
 * <p>Kernel choice: F32 runs the SIMT kernels (plain FMA, exact F32); BF16 runs the tensor-core
 * forward and backward (mma.sync, F32 accumulation) at every head dim. {@code CLIPVIL_ATTN_SIMT=1}
 * switches BF16 to the SIMT kernels in both directions (BF16 loads, F32 math: a cross-check of the
 * tensor-core paths). Each kernel is
 * compiled for head dims 32, 64, 80, 96, 128 and takes the real head dim as an argument, so the
 * smallest instantiation at least as large is used (loads past the head dim read zeros). F16 data,
 * head dims above 128 and a value head dim different from the query's go through the
 * {@link HostFallback}.
 *
 * <p>Launch shapes (see the comment block at the top of attention.cu): forward, one CTA per
 * (batch x head, query block) on grid.x = B*H (no 65535 cap) and grid.y = query blocks: 32 rows and
 * 128 threads (4 per row) for SIMT, 64 rows and 128 threads (4 warps x 16 rows) for tensor cores;
 * CLIP's 50-257 tokens give 1-9 query blocks per head and, at batch 256 x 12 heads, thousands of CTAs.
 * Backward: one CTA per (batch x head, key block) walking the query blocks (16 keys and 64 threads
 * for SIMT, 64 keys and 4 warps for tensor cores); gk/gv accumulate in registers, gq by F32
 * atomicAdd into a buffer the pre-kernel zeroes (then cast to BF16 for BF16 data). The tensor-core
 * backward keeps its tiles in static shared memory at head dims 32 and 64 and in dynamic shared
 * memory at 80, 96 and 128 ({@link #tcBackwardSharedBytes}: 40 448, 47 360 and 96 000 bytes; the
 * kernels opt in to it once per function, see {@link Kernel#withDynamicShared}).
 *
 * <p>Mixed precision (BF16 autocast): BF16 q/k/v with an F32 output ({@code outType} F32) run the
 * {@code bf16f32} forward kernels, which write the F32 accumulation directly; the matching backward
 * ({@code gradType} F32) takes F32 gOut and out: its pre-kernel reads gOut through its strides, rounds it
 * to a contiguous BF16 copy once (the tensor-core operands) and computes delta from that copy and the F32 out, and the backward writes
 * gk and gv as F32 while gq is the F32 atomic buffer itself, so no cast kernel runs on either side.
 * {@code CLIPVIL_ATTN_SIMT=1} has SIMT variants of both (the same cross-check).
 *
 * <p>Strides: the kernels read q, k, v, gOut and out and write out, gq (its F32 atomic buffer), gk
 * and gv through their strides, so {@link #forwardInto} can write an [N, H, S, D] view of an
 * [N, S, E] tensor (the heads merged for the output projection) and {@link #backwardInto} the q, k,
 * v slots of a packed [N, S, 3E] gradient from an [N, S, E] output gradient with no copy kernels.
 */
final class CudaAttention {
    private CudaAttention() {}

    static final int[] HEAD_DIMS = {32, 64, 80, 96, 128};
    /** Key-block and query-block rows of the tensor-core backward (TB_BK, TB_BQ in attention.cu). */
    private static final int TB_BK = 64, TB_BQ = 32;

    private static final Kernel[] FWD_F32 = family("clipvil_attn_fwd_f32_d");
    private static final Kernel[] FWD_BF16 = family("clipvil_attn_fwd_bf16_d");
    private static final Kernel[] FWD_BF16_SIMT = family("clipvil_attn_fwd_bf16simt_d");
    private static final Kernel[] BWD_F32 = family("clipvil_attn_bwd_f32_d");
    private static final Kernel[] BWD_BF16 = family("clipvil_attn_bwd_bf16_d");
    /** Tensor-core backward per head dim: static shared memory up to 64, dynamic above (sizes from {@link #tcBackwardSharedBytes}). */
    static final Kernel[] BWD_BF16_TC = tcBackwardFamily("clipvil_attn_bwd_bf16tc_d");
    /** The backward's pre-kernel per dtype: [0] F32, [1] BF16. */
    static final Kernel[] PREP = {Kernel.of("attention", "clipvil_attn_bwd_prep_f32"), Kernel.of("attention", "clipvil_attn_bwd_prep_bf16")};
    /** Mixed precision (BF16 q/k/v, F32 out and gradients): forward tensor cores / SIMT, backward SIMT / tensor cores, pre-kernel. */
    private static final Kernel[] FWD_MIXED = family("clipvil_attn_fwd_bf16f32_d");
    private static final Kernel[] FWD_MIXED_SIMT = family("clipvil_attn_fwd_bf16simtf32_d");
    private static final Kernel[] BWD_MIXED_SIMT = family("clipvil_attn_bwd_bf16f32_d");
    static final Kernel[] BWD_MIXED_TC = tcBackwardFamily("clipvil_attn_bwd_bf16tcf32_d");
    static final Kernel PREP_MIXED = Kernel.of("attention", "clipvil_attn_bwd_prep_f32bf16");

    /** Rows per forward CTA of the SIMT and tensor-core kernels, keys per backward CTA. */
    private static final int SIMT_ROWS = 32, TC_ROWS = 64, BWD_KEYS = 16, TC_BWD_KEYS = TB_BK;
    static final boolean FORCE_SIMT = "1".equals(System.getenv("CLIPVIL_ATTN_SIMT"));

    private static Kernel[] family(String prefix) {
        Kernel[] ks = new Kernel[HEAD_DIMS.length];
        for (int i = 0; i < ks.length; i++) ks[i] = Kernel.of("attention", prefix + HEAD_DIMS[i]);
        return ks;
    }

    private static Kernel[] tcBackwardFamily(String prefix) {
        Kernel[] ks = new Kernel[HEAD_DIMS.length];
        for (int i = 0; i < ks.length; i++) {
            String name = prefix + HEAD_DIMS[i];
            ks[i] = Kernel.withDynamicShared("attention", name, tcBackwardSharedBytes(HEAD_DIMS[i]));
        }
        return ks;
    }

    /**
     * Dynamic shared memory of the tensor-core backward at head-dim instantiation {@code d}: 0 for 32
     * and 64 (static tiles), else attention.cu's {@code TB_SMEM_BYTES(D, TB_KV_SMEM(D))}, mirrored
     * here: bf16 tiles Q and gO [32][D+8], their transposes [D][40], K^T [D][72], dS [32][72], plus
     * K and V [64][D+8] when D > 96 (their fragments come from shared memory there), and two F32
     * rows of 32 (lse, delta).
     */
    static int tcBackwardSharedBytes(int d) {
        if (d <= 64) return 0;
        return tcBackwardTileBytes(d, d > 96);
    }

    /** attention.cu's {@code TB_SMEM_BYTES(d, kv)}. */
    static int tcBackwardTileBytes(int d, boolean kv) {
        int halves = 2 * TB_BQ * (d + 8) + 2 * d * (TB_BQ + 8) + d * (TB_BK + 8) + TB_BQ * (TB_BK + 8) + (kv ? 2 * TB_BK * (d + 8) : 0);
        return 2 * halves + 2 * TB_BQ * 4;
    }

    /** Index into HEAD_DIMS of the smallest instantiation >= d, or -1. */
    static int headDimSlot(int d) {
        for (int i = 0; i < HEAD_DIMS.length; i++) if (d <= HEAD_DIMS[i]) return i;
        return -1;
    }

    /** Shapes and strides of one call. */
    private record Geo(int b, int h, int sq, int sk, int d, int slot) {
        static Geo of(String op, Tensor q, Tensor k, Tensor v) {
            if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4) {
                throw new ShapeException(op + ": q " + Shapes.str(q.shape()) + ", k " + Shapes.str(k.shape()) + " and v "
                        + Shapes.str(v.shape()) + " must be 4-D [B, H, S, D]");
            }
            int[] a = q.shape(), bb = k.shape(), c = v.shape();
            if (a[0] != bb[0] || a[1] != bb[1] || a[0] != c[0] || a[1] != c[1] || a[3] != bb[3] || bb[2] != c[2]) {
                throw new ShapeException(op + ": q " + Shapes.str(a) + ", k " + Shapes.str(bb) + " and v " + Shapes.str(c)
                        + " do not fit [B, H, Sq, D], [B, H, Sk, D], [B, H, Sk, Dv]");
            }
            return new Geo(a[0], a[1], a[2], bb[2], a[3], c[3] == a[3] ? headDimSlot(a[3]) : -1);
        }

        int[] scores() { return new int[]{b, h, sq, sk}; }
    }

    /** Whether the kernels take this call (else the host fallback does). */
    private static boolean supported(Tensor q, Tensor k, Tensor v, Tensor mask, Geo g) {
        DType dt = q.dtype();
        if (dt != DType.F32 && dt != DType.BF16) return false;
        if (k.dtype() != dt || v.dtype() != dt) throw new DTypeException("attention: q, k and v must share a dtype, got " + dt + ", " + k.dtype() + ", " + v.dtype());
        if (mask != null && mask.dtype() != DType.BOOL && mask.dtype() != DType.F32 && mask.dtype() != DType.BF16) return false;
        return g.slot >= 0 && g.d > 0;
    }

    private static int maskKind(Tensor mask) {
        if (mask == null) return 0;
        switch (mask.dtype()) {
            case F32: return 1;
            case BOOL: return 2;
            case BF16: return 3;
            default: throw new DTypeException("attention: unsupported mask dtype " + mask.dtype());
        }
    }

    /** Pushes q/k/v strides, mask kind and strides, causal and scale in the kernels' order. */
    private static void pushTail(KernelArgs a, Tensor q, Tensor k, Tensor v, Tensor mask, int[] maskStrides, boolean causal, double scale) {
        for (Tensor t : new Tensor[]{q, k, v}) {
            int[] s = t.strides();
            a.i32(s[0]).i32(s[1]).i32(s[2]).i32(s[3]);
        }
        a.i32(maskKind(mask));
        a.i32(maskStrides[0]).i32(maskStrides[1]).i32(maskStrides[2]).i32(maskStrides[3]);
        a.i32(causal ? 1 : 0).f32((float) scale);
    }

    static AttentionResult forward(CudaContext ctx, Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale) {
        return forward(ctx, q, k, v, mask, causal, scale, FORCE_SIMT);
    }

    /** {@code simt}: BF16 runs the SIMT kernel instead of the tensor-core one (tests cross-check both). */
    static AttentionResult forward(CudaContext ctx, Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale, boolean simt) {
        return forward(ctx, q, k, v, mask, causal, scale, simt, q.dtype());
    }

    /**
     * The output in {@code outType}: BF16 q/k/v with an F32 output run the mixed kernels (F32 written
     * directly); any other pair the kernels of q's dtype, then a cast.
     */
    static AttentionResult forward(CudaContext ctx, Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale,
                                   boolean simt, DType outType) {
        String op = "attention";
        Geo g = Geo.of(op, q, k, v);
        DType dt = q.dtype();
        boolean mixed = dt == DType.BF16 && outType == DType.F32;
        if (!supported(q, k, v, mask, g)) return castOut(ctx, fallbackForward(ctx, q, k, v, mask, causal, scale), outType);
        if (outType != dt && !mixed) return castOut(ctx, forward(ctx, q, k, v, mask, causal, scale, simt, dt), outType);
        Tensor out = KernelSupport.empty(ctx, outType, g.b, g.h, g.sq, g.d);
        try {
            return new AttentionResult(out, run(ctx, g, q, k, v, mask, causal, scale, simt, out));
        } catch (RuntimeException | Error e) {
            out.close();
            throw e;
        }
    }

    /**
     * The forward writing its output into {@code out} ([B, H, Sq, D], any strides, in q's dtype or F32
     * for BF16 q/k/v), e.g. an [N, H, S, D] view of an [N, S, E] tensor (strides {S*E, D, E, 1}), so a
     * following merge of the heads needs no copy; returns the lse [B, H, Sq] (F32, contiguous). What
     * the kernels do not take runs {@link #forward} and copies into {@code out}.
     */
    static Tensor forwardInto(CudaContext ctx, Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale,
                              boolean simt, Tensor out) {
        Geo g = Geo.of("attention", q, k, v);
        requireShape("attention", out, "the output", new int[]{g.b, g.h, g.sq, v.shape(3)});
        DType dt = q.dtype(), outType = out.dtype();
        boolean mixed = dt == DType.BF16 && outType == DType.F32;
        if (!supported(q, k, v, mask, g) || (outType != dt && !mixed)) {
            AttentionResult r = forward(ctx, q, k, v, mask, causal, scale, simt, outType);
            try {
                CudaCopy.copy(ctx, r.out(), out);
            } finally {
                r.out().close();
            }
            return r.lse();
        }
        return run(ctx, g, q, k, v, mask, causal, scale, simt, out);
    }

    /** The forward kernel into {@code out} (any strides; dtype q's or F32 for mixed, checked by the callers); returns lse. */
    private static Tensor run(CudaContext ctx, Geo g, Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale,
                              boolean simt, Tensor out) {
        String op = "attention";
        DType dt = q.dtype();
        boolean mixed = dt == DType.BF16 && out.dtype() == DType.F32;
        int[] ms = mask == null ? new int[4] : KernelSupport.broadcastStrides(op, mask, g.scores());
        Tensor lse = KernelSupport.empty(ctx, DType.F32, g.b, g.h, g.sq);
        boolean tc = dt == DType.BF16 && !simt;
        Kernel kern = dt == DType.F32 ? FWD_F32[g.slot]
                : mixed ? (tc ? FWD_MIXED[g.slot] : FWD_MIXED_SIMT[g.slot])
                : tc ? FWD_BF16[g.slot] : FWD_BF16_SIMT[g.slot];
        int rows = tc ? TC_ROWS : SIMT_ROWS;
        KernelArgs a = KernelArgs.begin()
                .ptr(KernelSupport.ptr(q)).ptr(KernelSupport.ptr(k)).ptr(KernelSupport.ptr(v)).ptr(KernelSupport.ptr(mask))
                .ptr(KernelSupport.ptr(out)).ptr(KernelSupport.ptr(lse))
                .i32(g.b).i32(g.h).i32(g.sq).i32(g.sk).i32(g.d);
        pushTail(a, q, k, v, mask, ms, causal, scale);
        int[] os = out.strides();
        a.i32(os[0]).i32(os[1]).i32(os[2]).i32(os[3]);
        try {
            KernelLaunch.launch(ctx, kern, g.b * g.h, KernelSupport.ceilDiv(g.sq, rows), 1, 128, 1, 1, 0, a);
        } catch (RuntimeException | Error e) {
            lse.close();
            throw e;
        }
        return lse;
    }

    private static AttentionResult castOut(CudaContext ctx, AttentionResult r, DType outType) {
        if (r.out().dtype() == outType) return r;
        Tensor o = CudaCopy.cast(ctx, r.out(), outType);
        r.out().close();
        return new AttentionResult(o, r.lse());
    }

    static Tensor[] backward(CudaContext ctx, Tensor gOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                             Tensor mask, boolean causal, double scale) {
        return backward(ctx, gOut, q, k, v, out, lse, mask, causal, scale, FORCE_SIMT);
    }

    /** {@code simt}: BF16 runs the SIMT backward instead of the tensor-core one. */
    static Tensor[] backward(CudaContext ctx, Tensor gOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                             Tensor mask, boolean causal, double scale, boolean simt) {
        return backward(ctx, gOut, q, k, v, out, lse, mask, causal, scale, simt, q.dtype());
    }

    /**
     * The gradients in {@code gradType}. BF16 q/k/v with F32 gradients run the mixed kernels: gOut and
     * out are read as F32 (converted first if they are not), the pre-kernel rounds gOut to BF16 once
     * (the products' operand) and takes delta from that and the F32 out, and gq, gk, gv come out F32
     * with no cast kernel. Any other pair: the kernels of q's dtype, then casts.
     */
    static Tensor[] backward(CudaContext ctx, Tensor gOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                             Tensor mask, boolean causal, double scale, boolean simt, DType gradType) {
        Geo g = Geo.of("attention_backward", q, k, v);
        DType dt = q.dtype();
        boolean mixed = dt == DType.BF16 && gradType == DType.F32;
        if (!supported(q, k, v, mask, g)) return castGrads(ctx, fallbackBackward(ctx, gOut, q, k, v, out, lse, mask, causal, scale), gradType);
        if (gradType != dt && !mixed) return castGrads(ctx, backward(ctx, gOut, q, k, v, out, lse, mask, causal, scale, simt, dt), gradType);
        Tensor gq = KernelSupport.empty(ctx, gradType, g.b, g.h, g.sq, g.d);
        Tensor gk = null, gv = null;
        boolean ok = false;
        try {
            gk = KernelSupport.empty(ctx, gradType, g.b, g.h, g.sk, g.d);
            gv = KernelSupport.empty(ctx, gradType, g.b, g.h, g.sk, g.d);
            run(ctx, g, gOut, q, k, v, out, lse, mask, causal, scale, simt, gq, gk, gv);
            ok = true;
            return new Tensor[]{gq, gk, gv};
        } finally {
            if (!ok) KernelSupport.close(gq, gk, gv);
        }
    }

    /**
     * The backward writing its gradients into the given tensors, in their dtype (the three must share
     * it), which may be strided views (e.g. the q, k, v slots of a packed [N, S, 3E] gradient): the
     * kernels store gk, gv and gq through their strides (gq is the F32 atomic buffer itself for F32 and
     * mixed gradients, and the cast of the BF16 run's F32 buffer writes it in place), so no copy kernel
     * runs. What the kernels do not take goes through {@link #backward} and copies into the views.
     */
    static void backwardInto(CudaContext ctx, Tensor gOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                             Tensor mask, boolean causal, double scale, boolean simt, Tensor gq, Tensor gk, Tensor gv) {
        String op = "attention_backward";
        Geo g = Geo.of(op, q, k, v);
        requireShape(op, gq, "the q gradient", new int[]{g.b, g.h, g.sq, g.d});
        requireShape(op, gk, "the k gradient", new int[]{g.b, g.h, g.sk, g.d});
        requireShape(op, gv, "the v gradient", v.shape());
        DType dt = q.dtype(), gradType = gq.dtype();
        if (gk.dtype() != gradType || gv.dtype() != gradType) {
            throw new DTypeException(op + ": the gradients must share a dtype, got " + gradType + ", " + gk.dtype() + ", " + gv.dtype());
        }
        boolean mixed = dt == DType.BF16 && gradType == DType.F32;
        if (!supported(q, k, v, mask, g) || (gradType != dt && !mixed)) {
            Tensor[] r = backward(ctx, gOut, q, k, v, out, lse, mask, causal, scale, simt, gradType);
            try {
                CudaCopy.copy(ctx, r[0], gq);
                CudaCopy.copy(ctx, r[1], gk);
                CudaCopy.copy(ctx, r[2], gv);
            } finally {
                KernelSupport.close(r[0], r[1], r[2]);
            }
            return;
        }
        run(ctx, g, gOut, q, k, v, out, lse, mask, causal, scale, simt, gq, gk, gv);
    }

    /** The kernels' backward into gq, gk, gv (any strides, dtype q's or F32 for mixed; the caller checked both). */
    private static void run(CudaContext ctx, Geo g, Tensor gOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                            Tensor mask, boolean causal, double scale, boolean simt, Tensor gq, Tensor gk, Tensor gv) {
        String op = "attention_backward";
        DType dt = q.dtype(), gradType = gq.dtype();
        boolean mixed = dt == DType.BF16 && gradType == DType.F32;
        int[] outShape = {g.b, g.h, g.sq, g.d};
        requireShape(op, gOut, "the output gradient", outShape);
        requireShape(op, out, "the output", outShape);
        requireShape(op, lse, "lse", new int[]{g.b, g.h, g.sq});
        int[] ms = mask == null ? new int[4] : KernelSupport.broadcastStrides(op, mask, g.scores());
        boolean f32 = dt == DType.F32;
        Tensor god = null, od = null, ld = null, delta = null, dqAcc = null, gLow = null;
        try {
            // gOut and out are read through their strides (a gradient or output merged to [N, S, H, D]
            // needs no dense copy); converted only when not in the dtype the kernels read
            god = gOut.dtype() == gradType ? gOut.asStrided(gOut.shape(), gOut.strides(), gOut.offset()) : KernelSupport.dense(ctx, gOut, gradType);
            od = out.dtype() == gradType ? out.asStrided(out.shape(), out.strides(), out.offset()) : KernelSupport.dense(ctx, out, gradType);
            ld = KernelSupport.dense(ctx, lse, DType.F32);
            int rows = g.b * g.h * g.sq;
            delta = KernelSupport.empty(ctx, DType.F32, rows);
            // F32 gradients (plain or mixed): the atomics accumulate in gq itself, through its strides
            dqAcc = gradType == DType.F32 ? gq : KernelSupport.empty(ctx, DType.F32, outShape);
            int[] dqs = dqAcc.strides();

            // 1. delta = rowsum(gOut * out), dqAcc = 0 (through its strides): one warp per row, 4 rows per
            //    128-thread CTA; mixed: also gLow = bf16(gOut), and delta from gLow
            KernelArgs p = KernelArgs.begin().ptr(KernelSupport.ptr(god)).ptr(KernelSupport.ptr(od)).ptr(KernelSupport.ptr(delta))
                    .ptr(KernelSupport.ptr(dqAcc));
            if (mixed) {
                gLow = KernelSupport.empty(ctx, DType.BF16, outShape);
                int[] gs = god.strides();
                p.ptr(KernelSupport.ptr(gLow)).i32(rows).i32(g.d).i32(g.h).i32(g.sq).i32(gs[0]).i32(gs[1]).i32(gs[2]).i32(gs[3]);
            } else {
                p.i32(rows).i32(g.d).i32(g.h).i32(g.sq);
            }
            p.i32(dqs[0]).i32(dqs[1]).i32(dqs[2]).i32(dqs[3]);
            if (!mixed) {
                int[] gs = god.strides();
                p.i32(gs[0]).i32(gs[1]).i32(gs[2]).i32(gs[3]);
            }
            int[] os = od.strides();
            p.i32(os[0]).i32(os[1]).i32(os[2]).i32(os[3]);
            KernelLaunch.launch(ctx, mixed ? PREP_MIXED : PREP[f32 ? 0 : 1], KernelSupport.ceilDiv(rows, 4), 128, 0, p);

            // 2. SIMT: one 64-thread CTA per (batch x head, 16 keys); tensor cores (BF16): one 128-thread
            //    CTA (4 warps x 16 keys) per (batch x head, 64 keys), dynamic shared memory above D = 64;
            //    dqAcc, gk and gv through their strides
            boolean tc = !f32 && !simt;
            Kernel kern = f32 ? BWD_F32[g.slot]
                    : mixed ? (tc ? BWD_MIXED_TC[g.slot] : BWD_MIXED_SIMT[g.slot])
                    : tc ? BWD_BF16_TC[g.slot] : BWD_BF16[g.slot];
            int shared = tc ? tcBackwardSharedBytes(HEAD_DIMS[g.slot]) : 0;
            KernelArgs a = KernelArgs.begin()
                    .ptr(KernelSupport.ptr(q)).ptr(KernelSupport.ptr(k)).ptr(KernelSupport.ptr(v)).ptr(KernelSupport.ptr(mixed ? gLow : god))
                    .ptr(KernelSupport.ptr(ld)).ptr(KernelSupport.ptr(delta)).ptr(KernelSupport.ptr(mask))
                    .ptr(KernelSupport.ptr(dqAcc)).ptr(KernelSupport.ptr(gk)).ptr(KernelSupport.ptr(gv))
                    .i32(g.b).i32(g.h).i32(g.sq).i32(g.sk).i32(g.d);
            pushTail(a, q, k, v, mask, ms, causal, scale);
            for (Tensor t : new Tensor[]{dqAcc, gk, gv, mixed ? gLow : god}) {
                int[] st = t.strides();
                a.i32(st[0]).i32(st[1]).i32(st[2]).i32(st[3]);
            }
            KernelLaunch.launch(ctx, kern, g.b * g.h, KernelSupport.ceilDiv(g.sk, tc ? TC_BWD_KEYS : BWD_KEYS), 1, tc ? 128 : 64, 1, 1, shared, a);

            // 3. BF16 gradients: gq = bf16(dqAcc) (round to nearest even; the strided cast copy writes a view
            //    in place); F32 (plain or mixed): dqAcc is gq
            if (dqAcc != gq) CudaCopy.copy(ctx, dqAcc, gq);
        } finally {
            KernelSupport.close(god, od, ld, delta, gLow, dqAcc == gq ? null : dqAcc);
        }
    }

    private static Tensor[] castGrads(CudaContext ctx, Tensor[] g, DType gradType) {
        for (int i = 0; i < g.length; i++) {
            if (g[i].dtype() == gradType) continue;
            Tensor c = CudaCopy.cast(ctx, g[i], gradType);
            g[i].close();
            g[i] = c;
        }
        return g;
    }

    private static void requireShape(String op, Tensor t, String what, int[] want) {
        if (!Arrays.equals(t.shape(), want)) {
            throw new ShapeException(op + ": " + what + " has shape " + Shapes.str(t.shape()) + ", expected " + Shapes.str(want));
        }
    }

    // ---- host fallback for what the kernels do not take (F16, head dim > 128, Dv != D) ----------

    private static AttentionResult fallbackForward(CudaContext ctx, Tensor q, Tensor k, Tensor v, Tensor mask, boolean causal, double scale) {
        Tensor hq = HostFallback.down(q), hk = HostFallback.down(k), hv = HostFallback.down(v), hm = HostFallback.down(mask);
        try {
            AttentionResult r = CpuBackend.get().attention(hq, hk, hv, hm, causal, scale);
            return new AttentionResult(HostFallback.up(ctx, r.out(), HostFallback.resultType(q)), HostFallback.up(ctx, r.lse(), DType.F32));
        } finally {
            HostFallback.close(hq, hk, hv, hm);
        }
    }

    private static Tensor[] fallbackBackward(CudaContext ctx, Tensor gOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                                             Tensor mask, boolean causal, double scale) {
        Tensor hg = HostFallback.down(gOut), hq = HostFallback.down(q), hk = HostFallback.down(k), hv = HostFallback.down(v);
        Tensor ho = HostFallback.down(out), hl = HostFallback.down(lse), hm = HostFallback.down(mask);
        try {
            Tensor[] g = CpuBackend.get().attentionBackward(hg, hq, hk, hv, ho, hl, hm, causal, scale);
            return new Tensor[]{HostFallback.up(ctx, g[0], HostFallback.resultType(q)), HostFallback.up(ctx, g[1], HostFallback.resultType(k)),
                    HostFallback.up(ctx, g[2], HostFallback.resultType(v))};
        } finally {
            HostFallback.close(hg, hq, hk, hv, ho, hl, hm);
        }
    }
}
