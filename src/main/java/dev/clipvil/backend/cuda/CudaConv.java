package dev.clipvil.backend.cuda;

import dev.clipvil.backend.Conv2dParams;
import dev.clipvil.backend.cpu.CpuBackend;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.Arrays;

/**
 * 2-D convolution on the GPU (kernels/conv.cu, implicit GEMM). Parameters mirror
 * {@code Backend.conv2d}/{@code conv2dBackwardInput}/{@code conv2dBackwardWeight} with the device
 * context first; tensors are NCHW as the Backend defines them.
 *
 * <p>F32: the SIMT implicit-GEMM kernels straight on NCHW. BF16 runs the tensor-core NHWC kernels
 * (F32 accumulation) between layout transposes:
 * <ul>
 *   <li>forward: input NCHW -> NHWC, weight KCRS -> KRSC, output NHWC -> NCHW;</li>
 *   <li>input gradient: output gradient NCHW -> NHWC, weight KCRS -> per group [Cg][R][S][Kg], result
 *       NHWC -> NCHW; strided convolutions reduce only over the taps that land on an output position
 *       (the kernel splits the pixels into stride phase classes);</li>
 *   <li>weight gradient: output gradient and input NCHW -> NHWC, an F32 result in the Backend's
 *       [K, C/groups, R, S] layout (split-K atomics), cast to BF16.</li>
 * </ul>
 * F16 goes through the {@link HostFallback}.
 *
 * <p>Launch shapes: GEMM tiles of 64 x 64 per CTA on grid (M / 64, N' / 64, groups), so grid.x
 * (no 65535 cap) carries the large pixel dimension; 256 threads (4 x 4 outputs each) for F32, 128
 * (4 warps of 32 x 32) for the tensor-core kernels. The weight gradient's reduction dimension
 * (N*P*Q) is split over grid.z so that small weight tiles still fill the GPU, with atomic adds into
 * a zeroed F32 output. The BF16 input gradient's grid.z is groups x strideH x strideW (one slice per
 * phase class); in the unlikely case that exceeds CUDA's 65535 it runs the F32 kernel on F32 copies.
 */
final class CudaConv {
    private CudaConv() {}

    /** Forward per dtype: [0] F32 NCHW (SIMT), [1] BF16 NHWC (tensor cores). */
    static final Kernel[] FWD = {Kernel.of("conv", "clipvil_conv2d_fwd_nchw_f32"), Kernel.of("conv", "clipvil_conv2d_fwd_nhwc_bf16")};
    static final Kernel BWD_INPUT_F32 = Kernel.of("conv", "clipvil_conv2d_bwd_input_nchw_f32");
    static final Kernel BWD_WEIGHT_F32 = Kernel.of("conv", "clipvil_conv2d_bwd_weight_nchw_f32");
    static final Kernel BWD_INPUT_BF16 = Kernel.of("conv", "clipvil_conv2d_bwd_input_nhwc_bf16");
    static final Kernel BWD_WEIGHT_BF16 = Kernel.of("conv", "clipvil_conv2d_bwd_weight_nhwc_bf16");
    /** Batched transpose per dtype: [0] F32, [1] BF16 (layout changes NCHW <-> NHWC, KCRS -> KRSC). */
    static final Kernel[] TRANSPOSE = {Kernel.of("conv", "clipvil_transpose_batched_f32"), Kernel.of("conv", "clipvil_transpose_batched_bf16")};

    private static final int TILE = 64;

    /** Sizes of one convolution: x [n, c, h, w], weight [k, c / groups, r, s], out [n, k, p, q]. */
    record Geo(int n, int c, int h, int w, int k, int r, int s, int p, int q, Conv2dParams cp) {
        static Geo of(String op, int[] x, int[] wt, Conv2dParams cp) {
            if (x.length != 4 || wt.length != 4) {
                throw new ShapeException(op + ": input " + Shapes.str(x) + " and weight " + Shapes.str(wt) + " must be 4-D (NCHW, [K, C/groups, R, S])");
            }
            int g = cp.groups();
            if (x[1] % g != 0 || wt[0] % g != 0 || wt[1] * g != x[1]) {
                throw new ShapeException(op + ": input " + Shapes.str(x) + " and weight " + Shapes.str(wt) + " do not fit " + g + " group(s)");
            }
            int p = cp.outH(x[2], wt[2]), q = cp.outW(x[3], wt[3]);
            if (p <= 0 || q <= 0) {
                throw new ShapeException(op + ": input " + Shapes.str(x) + " is smaller than the dilated kernel " + Shapes.str(wt) + " with padding " + cp.padH() + "x" + cp.padW());
            }
            return new Geo(x[0], x[1], x[2], x[3], wt[0], wt[2], wt[3], p, q, cp);
        }

        int groups() { return cp.groups(); }
        int cg() { return c / cp.groups(); }
        int kg() { return k / cp.groups(); }
        int[] outShape() { return new int[]{n, k, p, q}; }

        /** The kernels' geometry tail: N, C, H, W, K, R, S, P, Q, sh, sw, ph, pw, dh, dw, G. */
        KernelArgs push(KernelArgs a) {
            return a.i32(n).i32(c).i32(h).i32(w).i32(k).i32(r).i32(s).i32(p).i32(q)
                    .i32(cp.strideH()).i32(cp.strideW()).i32(cp.padH()).i32(cp.padW()).i32(cp.dilationH()).i32(cp.dilationW()).i32(cp.groups());
        }
    }

    private static void requireFloat(String op, Tensor a, Tensor b) {
        if (a.dtype() != b.dtype()) throw new DTypeException(op + ": operands must share a dtype, got " + a.describe() + " and " + b.describe());
    }

    private static boolean supported(Tensor t) { return t.dtype() == DType.F32 || t.dtype() == DType.BF16; }

    static Tensor forward(CudaContext ctx, Tensor x, Tensor weight, Tensor bias, Conv2dParams p) {
        String op = "conv2d";
        requireFloat(op, x, weight);
        if (!supported(x)) return fallbackForward(ctx, x, weight, bias, p);
        Geo g = Geo.of(op, x.shape(), weight.shape(), p);
        if (bias != null && (bias.dim() != 1 || bias.shape(0) != g.k)) {
            throw new ShapeException(op + ": bias must be [" + g.k + "] for weight " + Shapes.str(weight.shape()) + ", got " + Shapes.str(bias.shape()));
        }
        return x.dtype() == DType.F32 ? forwardF32(ctx, x, weight, bias, g) : forwardBf16(ctx, x, weight, bias, g);
    }

    private static Tensor forwardF32(CudaContext ctx, Tensor x, Tensor weight, Tensor bias, Geo g) {
        Tensor xd = null, wd = null, bd = null;
        try {
            xd = KernelSupport.dense(ctx, x, DType.F32);
            wd = KernelSupport.dense(ctx, weight, DType.F32);
            bd = KernelSupport.dense(ctx, bias, DType.F32);
            Tensor out = KernelSupport.empty(ctx, DType.F32, g.outShape());
            KernelArgs a = KernelArgs.begin().ptr(KernelSupport.ptr(xd)).ptr(KernelSupport.ptr(wd)).ptr(KernelSupport.ptr(bd)).ptr(KernelSupport.ptr(out));
            g.push(a);
            KernelLaunch.launch(ctx, FWD[0], KernelSupport.ceilDiv((long) g.n * g.p * g.q, TILE), KernelSupport.ceilDiv(g.kg(), TILE), g.groups(),
                    256, 1, 1, 0, a);
            return out;
        } finally {
            KernelSupport.close(xd, wd, bd);
        }
    }

    /** dst[b][c][r] = src[b][r][c] for contiguous [batch, rows, cols] data. */
    static void transpose(CudaContext ctx, Tensor src, Tensor dst, int batch, int rows, int cols) {
        KernelArgs a = KernelArgs.begin().ptr(KernelSupport.ptr(src)).ptr(KernelSupport.ptr(dst)).i32(batch).i32(rows).i32(cols);
        if (src.dtype() != DType.F32 && src.dtype() != DType.BF16) throw new DTypeException("transpose: F32 or BF16 data, got " + src.describe());
        KernelLaunch.launch(ctx, TRANSPOSE[src.dtype() == DType.F32 ? 0 : 1],
                KernelSupport.ceilDiv(cols, 32), KernelSupport.ceilDiv(rows, 32), batch, 32, 8, 1, 0, a);
    }

    /** An NCHW tensor (any view) as a new contiguous NHWC tensor [N, H, W, C] of the same dtype (F32 or BF16). */
    static Tensor nchwToNhwc(CudaContext ctx, Tensor x) { return nchwToNhwc(ctx, x, x.dtype()); }

    /** An NCHW tensor (any view) as a new contiguous NHWC tensor [N, H, W, C] of dtype {@code to} (F32 or BF16). */
    static Tensor nchwToNhwc(CudaContext ctx, Tensor x, DType to) {
        if (x.dim() != 4) throw new ShapeException("nchw_to_nhwc: 4-D input expected, got " + Shapes.str(x.shape()));
        int[] s = x.shape();
        Tensor xd = KernelSupport.dense(ctx, x, to);
        try {
            Tensor out = KernelSupport.empty(ctx, to, s[0], s[2], s[3], s[1]);
            transpose(ctx, xd, out, s[0], s[1], s[2] * s[3]);
            return out;
        } finally {
            xd.close();
        }
    }

    /** An NHWC tensor [N, H, W, C] (any view) as a new contiguous NCHW tensor of the same dtype (F32 or BF16). */
    static Tensor nhwcToNchw(CudaContext ctx, Tensor x) {
        if (x.dim() != 4) throw new ShapeException("nhwc_to_nchw: 4-D input expected, got " + Shapes.str(x.shape()));
        int[] s = x.shape();
        Tensor xd = KernelSupport.dense(ctx, x, x.dtype());
        try {
            Tensor out = KernelSupport.empty(ctx, x.dtype(), s[0], s[3], s[1], s[2]);
            transpose(ctx, xd, out, s[0], s[1] * s[2], s[3]);
            return out;
        } finally {
            xd.close();
        }
    }

    private static Tensor forwardBf16(CudaContext ctx, Tensor x, Tensor weight, Tensor bias, Geo g) {
        Tensor wd = null, bd = null, xn = null, wn = null, on = null;
        try {
            wd = KernelSupport.dense(ctx, weight, DType.BF16);
            bd = KernelSupport.dense(ctx, bias, DType.F32);
            xn = nchwToNhwc(ctx, x, DType.BF16);
            wn = KernelSupport.empty(ctx, DType.BF16, g.k, g.r, g.s, g.cg());
            transpose(ctx, wd, wn, g.k, g.cg(), g.r * g.s);               // KCRS -> KRSC
            on = KernelSupport.empty(ctx, DType.BF16, g.n, g.p, g.q, g.k);
            KernelArgs a = KernelArgs.begin().ptr(KernelSupport.ptr(xn)).ptr(KernelSupport.ptr(wn)).ptr(KernelSupport.ptr(bd)).ptr(KernelSupport.ptr(on));
            g.push(a);
            KernelLaunch.launch(ctx, FWD[1], KernelSupport.ceilDiv((long) g.n * g.p * g.q, TILE), KernelSupport.ceilDiv(g.kg(), TILE), g.groups(),
                    128, 1, 1, 0, a);
            return nhwcToNchw(ctx, on);
        } finally {
            KernelSupport.close(wd, bd, xn, wn, on);
        }
    }

    static Tensor backwardInput(CudaContext ctx, Tensor gy, Tensor weight, int[] inputShape, Conv2dParams p) {
        String op = "conv2d_backward_input";
        requireFloat(op, gy, weight);
        if (!supported(gy)) return fallbackBackwardInput(ctx, gy, weight, inputShape, p);
        Geo g = Geo.of(op, inputShape, weight.shape(), p);
        requireOutputShape(op, gy, g);
        if (gy.dtype() == DType.BF16 && (long) g.groups() * p.strideH() * p.strideW() <= MAX_GRID_YZ) return backwardInputBf16(ctx, gy, weight, g);
        // F32, or BF16 whose phase classes overflow grid.z: the SIMT kernel (on F32 copies for BF16)
        Tensor gd = null, wd = null, gx = null;
        try {
            gd = KernelSupport.dense(ctx, gy, DType.F32);
            wd = KernelSupport.dense(ctx, weight, DType.F32);
            gx = KernelSupport.empty(ctx, DType.F32, inputShape);
            KernelArgs a = KernelArgs.begin().ptr(KernelSupport.ptr(gd)).ptr(KernelSupport.ptr(wd)).ptr(KernelSupport.ptr(gx));
            g.push(a);
            KernelLaunch.launch(ctx, BWD_INPUT_F32, KernelSupport.ceilDiv((long) g.n * g.h * g.w, TILE), KernelSupport.ceilDiv(g.cg(), TILE), g.groups(),
                    256, 1, 1, 0, a);
            if (gy.dtype() == DType.F32) {
                Tensor r = gx;
                gx = null;
                return r;
            }
            return KernelSupport.dense(ctx, gx, gy.dtype());
        } finally {
            KernelSupport.close(gd, wd, gx);
        }
    }

    static Tensor backwardWeight(CudaContext ctx, Tensor gy, Tensor x, int[] weightShape, Conv2dParams p) {
        String op = "conv2d_backward_weight";
        requireFloat(op, gy, x);
        if (!supported(gy)) return fallbackBackwardWeight(ctx, gy, x, weightShape, p);
        Geo g = Geo.of(op, x.shape(), weightShape, p);
        requireOutputShape(op, gy, g);
        if (gy.dtype() == DType.BF16) return backwardWeightBf16(ctx, gy, x, g);
        Tensor gd = null, xd = null, gw = null;
        try {
            gd = KernelSupport.dense(ctx, gy, DType.F32);
            xd = KernelSupport.dense(ctx, x, DType.F32);
            gw = KernelSupport.empty(ctx, DType.F32, weightShape);
            int splits = weightSplits(ctx, g);
            if (splits > 1) KernelSupport.zero(ctx, gw);
            KernelArgs a = KernelArgs.begin().ptr(KernelSupport.ptr(gd)).ptr(KernelSupport.ptr(xd)).ptr(KernelSupport.ptr(gw)).i32(splits);
            g.push(a);
            KernelLaunch.launch(ctx, BWD_WEIGHT_F32, KernelSupport.ceilDiv(g.kg(), TILE), KernelSupport.ceilDiv((long) g.cg() * g.r * g.s, TILE),
                    g.groups() * splits, 256, 1, 1, 0, a);
            Tensor r = gw;
            gw = null;
            return r;
        } finally {
            KernelSupport.close(gd, xd, gw);
        }
    }

    /** CUDA's limit on grid.y and grid.z. */
    private static final int MAX_GRID_YZ = 65535;

    /**
     * Slices of the weight gradient's N*P*Q reduction (grid.z = groups x slices): enough for about
     * two CTAs per SM, keeping at least 1024 output pixels per slice.
     */
    private static int weightSplits(CudaContext ctx, Geo g) {
        long kTotal = (long) g.n * g.p * g.q;
        int tiles = KernelSupport.ceilDiv(g.kg(), TILE) * KernelSupport.ceilDiv((long) g.cg() * g.r * g.s, TILE) * g.groups();
        long want = Math.max(1, (2L * ctx.smCount()) / Math.max(1, tiles));
        return (int) Math.max(1, Math.min(Math.min(want, kTotal / 1024), Math.min(256, MAX_GRID_YZ / g.groups())));
    }

    /** BF16 input gradient on tensor cores (clipvil_conv2d_bwd_input_nhwc_bf16); NCHW in and out. */
    private static Tensor backwardInputBf16(CudaContext ctx, Tensor gy, Tensor weight, Geo g) {
        Tensor wd = null, gyn = null, wt = null, gxn = null;
        try {
            wd = KernelSupport.dense(ctx, weight, DType.BF16);
            gyn = nchwToNhwc(ctx, gy, DType.BF16);
            wt = KernelSupport.empty(ctx, DType.BF16, g.groups(), g.cg(), g.r, g.s, g.kg());
            transpose(ctx, wd, wt, g.groups(), g.kg(), g.cg() * g.r * g.s);      // per group [Kg][Cg R S] -> [Cg R S][Kg]
            gxn = KernelSupport.empty(ctx, DType.BF16, g.n, g.h, g.w, g.c);
            int sh = g.cp.strideH(), sw = g.cp.strideW();
            long classPixels = (long) g.n * ((g.h + sh - 1) / sh) * ((g.w + sw - 1) / sw);  // phase class (0, 0), the largest
            KernelArgs a = KernelArgs.begin().ptr(KernelSupport.ptr(gyn)).ptr(KernelSupport.ptr(wt)).ptr(KernelSupport.ptr(gxn));
            g.push(a);
            KernelLaunch.launch(ctx, BWD_INPUT_BF16, KernelSupport.ceilDiv(classPixels, TILE), KernelSupport.ceilDiv(g.cg(), TILE), g.groups() * sh * sw,
                    128, 1, 1, 0, a);
            return nhwcToNchw(ctx, gxn);
        } finally {
            KernelSupport.close(wd, gyn, wt, gxn);
        }
    }

    /** BF16 weight gradient on tensor cores (clipvil_conv2d_bwd_weight_nhwc_bf16): F32 [K, Cg, R, S], cast to BF16. */
    private static Tensor backwardWeightBf16(CudaContext ctx, Tensor gy, Tensor x, Geo g) {
        Tensor gyn = null, xn = null, gw = null;
        try {
            gyn = nchwToNhwc(ctx, gy, DType.BF16);
            xn = nchwToNhwc(ctx, x, DType.BF16);
            gw = KernelSupport.empty(ctx, DType.F32, g.k, g.cg(), g.r, g.s);
            int splits = weightSplits(ctx, g);
            if (splits > 1) KernelSupport.zero(ctx, gw);
            KernelArgs a = KernelArgs.begin().ptr(KernelSupport.ptr(gyn)).ptr(KernelSupport.ptr(xn)).ptr(KernelSupport.ptr(gw)).i32(splits);
            g.push(a);
            KernelLaunch.launch(ctx, BWD_WEIGHT_BF16, KernelSupport.ceilDiv(g.kg(), TILE), KernelSupport.ceilDiv((long) g.cg() * g.r * g.s, TILE),
                    g.groups() * splits, 128, 1, 1, 0, a);
            return KernelSupport.dense(ctx, gw, DType.BF16);
        } finally {
            KernelSupport.close(gyn, xn, gw);
        }
    }

    private static void requireOutputShape(String op, Tensor gy, Geo g) {
        if (!Arrays.equals(gy.shape(), g.outShape())) {
            throw new ShapeException(op + ": output gradient " + Shapes.str(gy.shape()) + " does not match the output " + Shapes.str(g.outShape()));
        }
    }

    // ---- host fallback (F16) --------------------------------------------------------------------

    private static Tensor fallbackForward(CudaContext ctx, Tensor x, Tensor weight, Tensor bias, Conv2dParams p) {
        Tensor hx = HostFallback.down(x), hw = HostFallback.down(weight), hb = HostFallback.down(bias);
        try {
            return HostFallback.up(ctx, CpuBackend.get().conv2d(hx, hw, hb, p), HostFallback.resultType(x));
        } finally {
            HostFallback.close(hx, hw, hb);
        }
    }

    private static Tensor fallbackBackwardInput(CudaContext ctx, Tensor gy, Tensor weight, int[] inputShape, Conv2dParams p) {
        Tensor hg = HostFallback.down(gy), hw = HostFallback.down(weight);
        try {
            return HostFallback.up(ctx, CpuBackend.get().conv2dBackwardInput(hg, hw, inputShape, p), HostFallback.resultType(gy));
        } finally {
            HostFallback.close(hg, hw);
        }
    }

    private static Tensor fallbackBackwardWeight(CudaContext ctx, Tensor gy, Tensor x, int[] weightShape, Conv2dParams p) {
        Tensor hg = HostFallback.down(gy), hx = HostFallback.down(x);
        try {
            return HostFallback.up(ctx, CpuBackend.get().conv2dBackwardWeight(hg, hx, weightShape, p), HostFallback.resultType(x));
        } finally {
            HostFallback.close(hg, hx);
        }
    }
}
