package dev.clipvil.backend.cuda;

import dev.clipvil.backend.Pool2dParams;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/** Average pooling, fixed and adaptive windows, over NCHW or CHW (kernels/pool.cu). */
final class CudaPool {
    static final Kernel FORWARD = Kernel.of("pool", "avg_pool_forward");
    static final Kernel BACKWARD = Kernel.of("pool", "avg_pool_backward");

    private CudaPool() {}

    private static int spatial(String op, int[] shape, int fromEnd) {
        if (shape.length != 4 && shape.length != 3) throw new ShapeException(op + ": expected an NCHW (or CHW) input, got shape " + Shapes.str(shape));
        return shape[shape.length - fromEnd];
    }

    private static int[] withSpatial(int[] shape, int h, int w) {
        int[] s = shape.clone();
        s[s.length - 2] = h;
        s[s.length - 1] = w;
        return s;
    }

    private static ShapeException tooSmall(String op, int[] xs, Pool2dParams p) {
        return new ShapeException(op + ": input " + Shapes.str(xs) + " is too small for kernel " + p.kernelH() + "x" + p.kernelW()
                + " with padding " + p.padH() + "x" + p.padW());
    }

    private static int[] params(Pool2dParams p) {
        return new int[]{p.kernelH(), p.kernelW(), p.strideH(), p.strideW(), p.padH(), p.padW(), p.countIncludePad() ? 1 : 0, 0};
    }

    private static final int[] ADAPTIVE = {1, 1, 1, 1, 0, 0, 1, 1};

    static Tensor avgPool2d(CudaContext ctx, Tensor x, Pool2dParams p) {
        String op = "avg_pool2d";
        int[] xs = x.shape();
        int h = spatial(op, xs, 2), w = spatial(op, xs, 1);
        if (h + 2 * p.padH() < p.kernelH() || w + 2 * p.padW() < p.kernelW()) throw tooSmall(op, xs, p);
        return forward(ctx, op, x, h, w, p.outH(h), p.outW(w), params(p));
    }

    static Tensor adaptiveAvgPool2d(CudaContext ctx, Tensor x, int outH, int outW) {
        String op = "adaptive_avg_pool2d";
        int[] xs = x.shape();
        int h = spatial(op, xs, 2), w = spatial(op, xs, 1);
        if (outH < 1 || outW < 1) throw new ShapeException(op + ": output size " + outH + "x" + outW + " must be positive (input " + Shapes.str(xs) + ")");
        if (h < 1 || w < 1) throw new ShapeException(op + ": input " + Shapes.str(xs) + " has an empty spatial dimension");
        return forward(ctx, op, x, h, w, outH, outW, ADAPTIVE);
    }

    private static Tensor forward(CudaContext ctx, String op, Tensor x, int h, int w, int oh, int ow, int[] k) {
        CudaOps.requireOn(ctx, op, x);
        DTypes.requireFloat(op, x.dtype());
        Tensor out = CudaOps.empty(ctx, x.dtype(), withSpatial(x.shape(), oh, ow));
        int planes = x.numel() / Math.max(1, h * w);
        Tensor xd = CudaCopy.dense(ctx, x);
        try {
            KernelArgs a = KernelArgs.begin().ptr(CudaOps.addr(out)).i32(CudaOps.dt(out)).ptr(CudaOps.addr(xd)).i32(CudaOps.dt(xd))
                    .i32(planes).i32(h).i32(w).i32(oh).i32(ow);
            for (int v : k) a.i32(v);
            CudaOps.launchN(ctx, FORWARD, out.numel(), a);
        } finally {
            CudaCopy.release(xd, x);
        }
        return out;
    }

    static Tensor avgPool2dBackward(CudaContext ctx, Tensor gy, int[] inputShape, Pool2dParams p) {
        String op = "avg_pool2d_backward";
        int h = spatial(op, inputShape, 2), w = spatial(op, inputShape, 1);
        if (h + 2 * p.padH() < p.kernelH() || w + 2 * p.padW() < p.kernelW()) throw tooSmall(op, inputShape, p);
        return backward(ctx, op, gy, inputShape, h, w, p.outH(h), p.outW(w), params(p));
    }

    static Tensor adaptiveAvgPool2dBackward(CudaContext ctx, Tensor gy, int[] inputShape) {
        String op = "adaptive_avg_pool2d_backward";
        int h = spatial(op, inputShape, 2), w = spatial(op, inputShape, 1);
        if (gy.dim() != inputShape.length) throw new ShapeException(op + ": gradient " + Shapes.str(gy.shape()) + " does not match input " + Shapes.str(inputShape));
        int oh = gy.shape(-2), ow = gy.shape(-1);
        if (oh < 1 || ow < 1 || h < 1 || w < 1) {
            throw new ShapeException(op + ": empty spatial size in gradient " + Shapes.str(gy.shape()) + " or input " + Shapes.str(inputShape));
        }
        return backward(ctx, op, gy, inputShape, h, w, oh, ow, ADAPTIVE);
    }

    private static Tensor backward(CudaContext ctx, String op, Tensor gy, int[] inputShape, int h, int w, int oh, int ow, int[] k) {
        CudaOps.requireOn(ctx, op, gy);
        DTypes.requireFloat(op, gy.dtype());
        int[] want = withSpatial(inputShape, oh, ow);
        if (!java.util.Arrays.equals(gy.shape(), want)) {
            throw new ShapeException(op + ": gradient of shape " + Shapes.str(gy.shape()) + " does not match the output " + Shapes.str(want)
                    + " of an input " + Shapes.str(inputShape));
        }
        Tensor acc = CudaOps.empty(ctx, DType.F32, inputShape);
        CudaCopy.fill(ctx, acc, 0);
        int planes = acc.numel() / Math.max(1, h * w);
        Tensor gd = CudaCopy.dense(ctx, gy);
        try {
            KernelArgs a = KernelArgs.begin().ptr(CudaOps.addr(acc)).ptr(CudaOps.addr(gd)).i32(CudaOps.dt(gd)).i32(planes).i32(h).i32(w).i32(oh).i32(ow);
            for (int v : k) a.i32(v);
            CudaOps.launchN(ctx, BACKWARD, gd.numel(), a);
        } finally {
            CudaCopy.release(gd, gy);
        }
        if (gy.dtype() == DType.F32) return acc;
        try {
            return CudaCopy.cast(ctx, acc, gy.dtype());
        } finally {
            acc.close();
        }
    }
}
