package dev.clipvil.backend.cuda;

import dev.clipvil.backend.AddNormResult;
import dev.clipvil.backend.BinaryOp;
import dev.clipvil.backend.NormResult;
import dev.clipvil.backend.cpu.CpuBackend;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.Arrays;

/**
 * Layer norm on the GPU (kernels/layernorm.cu). Parameters mirror {@code Backend.layerNorm}/
 * {@code layerNormBackward} with the device context first. F32 and BF16 data; statistics, weight and
 * bias in F32 (BF16 parameters are cast once per call; their gradients come back in their dtype).
 * F16 data goes through the {@link HostFallback}.
 *
 * <p>Launch shapes: forward and input gradient, one warp per row and 4 rows per 128-thread CTA
 * (grid.x = rows / 4, no 65535 cap), which keeps a 768/1024-wide row in one warp's 128-bit loads
 * with no shared memory. Weight/bias gradients: per-chunk column partials on a (32, 8) CTA grid
 * [C / 32, chunks], then a fixed-order reduction over chunks (deterministic, no atomics).
 */
final class CudaLayerNorm {
    private CudaLayerNorm() {}

    // per dtype: [0] F32 data, [1] BF16 data
    static final Kernel[] FWD = pair("clipvil_ln_fwd");
    static final Kernel[] FWD_RES = pair("clipvil_ln_fwd_residual");
    static final Kernel[] DX = pair("clipvil_ln_bwd_dx");
    static final Kernel[] PARTIAL = pair("clipvil_ln_bwd_params_partial");
    static final Kernel REDUCE = Kernel.of("layernorm", "clipvil_ln_bwd_params_reduce");

    private static final int ROWS_PER_CTA = 4;

    private static Kernel[] pair(String prefix) {
        return new Kernel[]{Kernel.of("layernorm", prefix + "_f32"), Kernel.of("layernorm", prefix + "_bf16")};
    }

    /** Index of the data dtype in the per-dtype kernel pairs. */
    private static int slot(Tensor x) { return x.dtype() == DType.F32 ? 0 : 1; }

    private static int cols(String op, Tensor x) {
        if (x.dim() == 0) throw new ShapeException(op + ": input must have at least one dimension, got a scalar");
        return x.shape(-1);
    }

    private static void checkParam(String op, Tensor p, String what, int c, Tensor x) {
        if (p == null) return;
        if (p.dim() != 1 || p.shape(0) != c) {
            throw new ShapeException(op + ": " + what + " of shape " + Shapes.str(p.shape()) + " does not match input " + Shapes.str(x.shape()) + " (expected [" + c + "])");
        }
    }

    private static boolean supported(Tensor x) { return x.dtype() == DType.F32 || x.dtype() == DType.BF16; }

    static NormResult forward(CudaContext ctx, Tensor x, Tensor weight, Tensor bias, double eps) {
        String op = "layer_norm";
        if (!supported(x)) return fallbackForward(ctx, x, weight, bias, eps);
        int c = cols(op, x);
        checkParam(op, weight, "weight", c, x);
        checkParam(op, bias, "bias", c, x);
        int rows = c == 0 ? 0 : x.numel() / c;
        Tensor xd = null, wd = null, bd = null, out = null, mean = null, rstd = null;
        boolean ok = false;
        try {
            xd = KernelSupport.dense(ctx, x, x.dtype());
            wd = KernelSupport.dense(ctx, weight, DType.F32);
            bd = KernelSupport.dense(ctx, bias, DType.F32);
            out = KernelSupport.empty(ctx, x.dtype(), x.shape());
            mean = KernelSupport.empty(ctx, DType.F32, rows);
            rstd = KernelSupport.empty(ctx, DType.F32, rows);
            KernelArgs a = KernelArgs.begin().ptr(KernelSupport.ptr(xd)).ptr(KernelSupport.ptr(wd)).ptr(KernelSupport.ptr(bd))
                    .ptr(KernelSupport.ptr(out)).ptr(KernelSupport.ptr(mean)).ptr(KernelSupport.ptr(rstd)).i32(rows).i32(c).f32((float) eps);
            KernelLaunch.launch(ctx, FWD[slot(x)], KernelSupport.ceilDiv(rows, ROWS_PER_CTA), 32 * ROWS_PER_CTA, 0, a);
            ok = true;
            return new NormResult(out, mean, rstd);
        } finally {
            KernelSupport.close(xd, wd, bd);
            if (!ok) KernelSupport.close(out, mean, rstd);
        }
    }

    /**
     * {@code Backend.addLayerNorm}: the residual step in one pass, {@code sum = x + r} (in x's dtype)
     * and {@code y = layerNorm(sum)}. F16 data runs the unfused pair (host fallback for the norm).
     */
    static AddNormResult forwardResidual(CudaContext ctx, Tensor x, Tensor r, Tensor weight, Tensor bias, double eps) {
        String op = "add_layer_norm";
        if (!Arrays.equals(x.shape(), r.shape()) || x.dtype() != r.dtype()) {
            throw new ShapeException(op + ": x " + x.describe() + " and residual " + r.describe() + " must have the same shape and dtype");
        }
        if (!supported(x)) {
            Tensor s = CudaElementwise.binary(ctx, BinaryOp.ADD, x, r);
            NormResult n = fallbackForward(ctx, s, weight, bias, eps);
            return new AddNormResult(s, n.out(), n.mean(), n.rstd());
        }
        int c = cols(op, x);
        checkParam(op, weight, "weight", c, x);
        checkParam(op, bias, "bias", c, x);
        int rows = c == 0 ? 0 : x.numel() / c;
        Tensor xd = null, rd = null, wd = null, bd = null, out = null, sum = null, mean = null, rstd = null;
        boolean ok = false;
        try {
            xd = KernelSupport.dense(ctx, x, x.dtype());
            rd = KernelSupport.dense(ctx, r, x.dtype());
            wd = KernelSupport.dense(ctx, weight, DType.F32);
            bd = KernelSupport.dense(ctx, bias, DType.F32);
            out = KernelSupport.empty(ctx, x.dtype(), x.shape());
            sum = KernelSupport.empty(ctx, x.dtype(), x.shape());
            mean = KernelSupport.empty(ctx, DType.F32, rows);
            rstd = KernelSupport.empty(ctx, DType.F32, rows);
            KernelArgs a = KernelArgs.begin().ptr(KernelSupport.ptr(xd)).ptr(KernelSupport.ptr(rd)).ptr(KernelSupport.ptr(wd))
                    .ptr(KernelSupport.ptr(bd)).ptr(KernelSupport.ptr(out)).ptr(KernelSupport.ptr(sum)).ptr(KernelSupport.ptr(mean))
                    .ptr(KernelSupport.ptr(rstd)).i32(rows).i32(c).f32((float) eps);
            KernelLaunch.launch(ctx, FWD_RES[slot(x)], KernelSupport.ceilDiv(rows, ROWS_PER_CTA),
                    32 * ROWS_PER_CTA, 0, a);
            ok = true;
            return new AddNormResult(sum, out, mean, rstd);
        } finally {
            KernelSupport.close(xd, rd, wd, bd);
            if (!ok) KernelSupport.close(out, sum, mean, rstd);
        }
    }

    static Tensor[] backward(CudaContext ctx, Tensor gy, Tensor x, Tensor weight, Tensor mean, Tensor rstd) {
        String op = "layer_norm_backward";
        if (!supported(x)) return fallbackBackward(ctx, gy, x, weight, mean, rstd);
        if (!Arrays.equals(gy.shape(), x.shape())) {
            throw new ShapeException(op + ": gradient " + Shapes.str(gy.shape()) + " and input " + Shapes.str(x.shape()) + " differ in shape");
        }
        int c = cols(op, x);
        checkParam(op, weight, "weight", c, x);
        int rows = c == 0 ? 0 : x.numel() / c;
        if (mean.numel() != rows || rstd.numel() != rows) {
            throw new ShapeException(op + ": mean " + Shapes.str(mean.shape()) + " / rstd " + Shapes.str(rstd.shape())
                    + " do not have one value per row of " + Shapes.str(x.shape()) + " (" + rows + " rows)");
        }
        boolean f32 = x.dtype() == DType.F32;
        Tensor xd = null, gd = null, wd = null, md = null, rd = null, pw = null, pb = null, gw32 = null, gb32 = null;
        Tensor gx = null, gw = null, gb = null;
        boolean ok = false;
        try {
            xd = KernelSupport.dense(ctx, x, x.dtype());
            gd = KernelSupport.dense(ctx, gy, x.dtype());
            wd = KernelSupport.dense(ctx, weight, DType.F32);
            md = KernelSupport.dense(ctx, mean, DType.F32);
            rd = KernelSupport.dense(ctx, rstd, DType.F32);
            gx = KernelSupport.empty(ctx, x.dtype(), x.shape());
            KernelArgs a = KernelArgs.begin().ptr(KernelSupport.ptr(gd)).ptr(KernelSupport.ptr(xd)).ptr(KernelSupport.ptr(wd))
                    .ptr(KernelSupport.ptr(md)).ptr(KernelSupport.ptr(rd)).ptr(KernelSupport.ptr(gx)).i32(rows).i32(c);
            KernelLaunch.launch(ctx, DX[slot(x)], KernelSupport.ceilDiv(rows, ROWS_PER_CTA), 32 * ROWS_PER_CTA, 0, a);
            if (weight != null) {
                // about 4 waves of (32, 8) CTAs over the column strips, at least 8 rows per chunk
                int strips = KernelSupport.ceilDiv(c, 32);
                int wantChunks = Math.max(1, Math.min(KernelSupport.ceilDiv(rows, 8), Math.max(1, 4 * ctx.smCount() / Math.max(1, strips))));
                int rowsPerChunk = Math.max(1, KernelSupport.ceilDiv(rows, wantChunks));
                int chunks = Math.max(1, KernelSupport.ceilDiv(rows, rowsPerChunk));
                pw = KernelSupport.empty(ctx, DType.F32, chunks, c);
                pb = KernelSupport.empty(ctx, DType.F32, chunks, c);
                if (rows == 0) {
                    KernelSupport.zero(ctx, pw);
                    KernelSupport.zero(ctx, pb);
                }
                KernelArgs p = KernelArgs.begin().ptr(KernelSupport.ptr(gd)).ptr(KernelSupport.ptr(xd)).ptr(KernelSupport.ptr(md))
                        .ptr(KernelSupport.ptr(rd)).ptr(KernelSupport.ptr(pw)).ptr(KernelSupport.ptr(pb)).i32(rows).i32(c).i32(rowsPerChunk);
                if (rows > 0) KernelLaunch.launch(ctx, PARTIAL[slot(x)], strips, chunks, 1, 32, 8, 1, 0, p);
                DType pt = weight.dtype() == DType.BF16 ? DType.BF16 : DType.F32;
                gw32 = KernelSupport.empty(ctx, DType.F32, c);
                gb32 = KernelSupport.empty(ctx, DType.F32, c);
                KernelArgs r = KernelArgs.begin().ptr(KernelSupport.ptr(pw)).ptr(KernelSupport.ptr(pb)).ptr(KernelSupport.ptr(gw32))
                        .ptr(KernelSupport.ptr(gb32)).i32(chunks).i32(c);
                KernelLaunch.launch(ctx, REDUCE, KernelSupport.ceilDiv(c, 256), 256, 0, r);
                if (pt == DType.F32) {
                    gw = gw32;
                    gb = gb32;
                    gw32 = gb32 = null;
                } else {
                    gw = KernelSupport.dense(ctx, gw32, pt);
                    gb = KernelSupport.dense(ctx, gb32, pt);
                }
            }
            ok = true;
            return new Tensor[]{gx, gw, gb};
        } finally {
            KernelSupport.close(xd, gd, wd, md, rd, pw, pb, gw32, gb32);
            if (!ok) KernelSupport.close(gx, gw, gb);
        }
    }

    // ---- host fallback (F16 data) ----------------------------------------------------------------

    private static NormResult fallbackForward(CudaContext ctx, Tensor x, Tensor weight, Tensor bias, double eps) {
        Tensor hx = HostFallback.down(x), hw = HostFallback.down(weight), hb = HostFallback.down(bias);
        try {
            NormResult r = CpuBackend.get().layerNorm(hx, hw, hb, eps);
            return new NormResult(HostFallback.up(ctx, r.out(), HostFallback.resultType(x)), HostFallback.up(ctx, r.mean(), DType.F32),
                    HostFallback.up(ctx, r.rstd(), DType.F32));
        } finally {
            HostFallback.close(hx, hw, hb);
        }
    }

    private static Tensor[] fallbackBackward(CudaContext ctx, Tensor gy, Tensor x, Tensor weight, Tensor mean, Tensor rstd) {
        Tensor hg = HostFallback.down(gy), hx = HostFallback.down(x), hw = HostFallback.down(weight);
        Tensor hm = HostFallback.down(mean), hr = HostFallback.down(rstd);
        try {
            Tensor[] g = CpuBackend.get().layerNormBackward(hg, hx, hw, hm, hr);
            return new Tensor[]{HostFallback.up(ctx, g[0], HostFallback.resultType(x)),
                    weight == null ? null : HostFallback.up(ctx, g[1], HostFallback.resultType(weight)),
                    weight == null || g[2] == null ? null : HostFallback.up(ctx, g[2], HostFallback.resultType(weight))};
        } finally {
            HostFallback.close(hg, hx, hw, hm, hr);
        }
    }
}
