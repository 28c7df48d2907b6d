package dev.clipvil.backend.cuda;

import dev.clipvil.backend.NormResult;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/**
 * Batch norm over [N, C, ...] with PyTorch's semantics (kernels/norm.cu): per-channel statistics in
 * double, running statistics moved in place, F32 mean/rstd returned.
 */
final class CudaBatchNorm {
    static final Kernel STATS = Kernel.of("norm", "bn_stats");
    static final Kernel EVAL_STATS = Kernel.of("norm", "bn_eval_stats");
    static final Kernel APPLY = Kernel.of("norm", "bn_apply");
    static final Kernel BACKWARD_REDUCE = Kernel.of("norm", "bn_backward_reduce");
    static final Kernel BACKWARD_APPLY = Kernel.of("norm", "bn_backward_apply");

    private CudaBatchNorm() {}

    private record Dims(int n, int c, int s) {
        static Dims of(String op, Tensor x) {
            if (x.dim() < 2) throw new ShapeException(op + ": input must be [N, C, ...], got " + Shapes.str(x.shape()));
            int[] sh = x.shape();
            int s = 1;
            for (int i = 2; i < sh.length; i++) s *= sh[i];
            return new Dims(sh[0], sh[1], s);
        }
    }

    private static void checkVector(String op, Tensor p, String what, int c, Tensor x) {
        if (p == null) return;
        if (!p.dtype().isFloating()) throw new DTypeException(op + ": " + what + " must be floating, got " + p.describe());
        DTypes.requireFloat(op, p.dtype());
        if (p.dim() != 1 || p.shape(0) != c) {
            throw new ShapeException(op + ": " + what + " of shape " + Shapes.str(p.shape()) + " does not match input " + Shapes.str(x.shape())
                    + " (expected [" + c + "])");
        }
    }

    private static KernelArgs vec(KernelArgs a, Tensor t) {
        return a.ptr(CudaOps.addr(t)).i32(t == null ? 0 : CudaOps.dt(t)).i32(CudaOps.stride1(t));
    }

    static NormResult train(CudaContext ctx, Tensor x, Tensor w, Tensor b, Tensor rm, Tensor rv, double momentum, double eps) {
        String op = "batch_norm";
        CudaOps.requireOn(ctx, op, x, w, b, rm, rv);
        DTypes.requireFloat(op, x.dtype());
        Dims d = Dims.of(op, x);
        checkVector(op, w, "weight", d.c(), x);
        checkVector(op, b, "bias", d.c(), x);
        checkVector(op, rm, "running_mean", d.c(), x);
        checkVector(op, rv, "running_var", d.c(), x);
        int m = d.n() * d.s();
        if (m <= 1) throw new ShapeException(op + ": expected more than 1 value per channel when training, got input " + Shapes.str(x.shape()));
        Tensor mean = CudaOps.empty(ctx, DType.F32, d.c()), rstd = CudaOps.empty(ctx, DType.F32, d.c());
        Tensor xd = CudaCopy.dense(ctx, x);
        try {
            KernelArgs a = KernelArgs.begin().ptr(CudaOps.addr(mean)).ptr(CudaOps.addr(rstd)).ptr(CudaOps.addr(xd)).i32(CudaOps.dt(xd))
                    .i32(d.n()).i32(d.c()).i32(d.s()).f64(eps);
            vec(vec(a, rm), rv).f64(momentum);
            CudaOps.launchRows(ctx, STATS, d.c(), a);
            Tensor out = apply(ctx, xd, d, mean, rstd, w, b);
            return new NormResult(out, mean, rstd);
        } finally {
            CudaCopy.release(xd, x);
        }
    }

    static Tensor eval(CudaContext ctx, Tensor x, Tensor w, Tensor b, Tensor rm, Tensor rv, double eps) {
        String op = "batch_norm";
        if (rm == null || rv == null) throw new IllegalArgumentException(op + ": running_mean and running_var are required in eval mode");
        CudaOps.requireOn(ctx, op, x, w, b, rm, rv);
        DTypes.requireFloat(op, x.dtype());
        Dims d = Dims.of(op, x);
        checkVector(op, w, "weight", d.c(), x);
        checkVector(op, b, "bias", d.c(), x);
        checkVector(op, rm, "running_mean", d.c(), x);
        checkVector(op, rv, "running_var", d.c(), x);
        try (Tensor mean = CudaOps.empty(ctx, DType.F32, d.c()); Tensor rstd = CudaOps.empty(ctx, DType.F32, d.c())) {
            KernelArgs a = KernelArgs.begin().ptr(CudaOps.addr(mean)).ptr(CudaOps.addr(rstd));
            vec(vec(a, rm), rv).i32(d.c()).f64(eps);
            CudaOps.launchN(ctx, EVAL_STATS, d.c(), a);
            Tensor xd = CudaCopy.dense(ctx, x);
            try {
                return apply(ctx, xd, d, mean, rstd, w, b);
            } finally {
                CudaCopy.release(xd, x);
            }
        }
    }

    private static Tensor apply(CudaContext ctx, Tensor xd, Dims d, Tensor mean, Tensor rstd, Tensor w, Tensor b) {
        Tensor out = CudaOps.empty(ctx, xd.dtype(), xd.shape());
        KernelArgs a = KernelArgs.begin().ptr(CudaOps.addr(out)).i32(CudaOps.dt(out)).ptr(CudaOps.addr(xd)).i32(CudaOps.dt(xd))
                .i32(d.n()).i32(d.c()).i32(d.s()).ptr(CudaOps.addr(mean)).ptr(CudaOps.addr(rstd));
        vec(vec(a, w), b);
        CudaOps.launchN(ctx, APPLY, out.numel(), a);
        return out;
    }

    static Tensor[] backward(CudaContext ctx, Tensor gy, Tensor x, Tensor w, Tensor mean, Tensor rstd, boolean training) {
        String op = "batch_norm_backward";
        CudaOps.requireOn(ctx, op, gy, x, w, mean, rstd);
        DTypes.requireFloat(op, x.dtype());
        CudaElementwise.sameDType(op, x, gy);
        if (!java.util.Arrays.equals(gy.shape(), x.shape())) {
            throw new ShapeException(op + ": gradient " + Shapes.str(gy.shape()) + " and input " + Shapes.str(x.shape()) + " differ in shape");
        }
        Dims d = Dims.of(op, x);
        checkVector(op, w, "weight", d.c(), x);
        checkVector(op, mean, "mean", d.c(), x);
        checkVector(op, rstd, "rstd", d.c(), x);
        Tensor xd = CudaCopy.dense(ctx, x), gd = CudaCopy.dense(ctx, gy);
        Tensor sg = CudaOps.empty(ctx, DType.F32, d.c()), sgx = CudaOps.empty(ctx, DType.F32, d.c());
        try {
            KernelArgs a = KernelArgs.begin().ptr(CudaOps.addr(sg)).ptr(CudaOps.addr(sgx)).ptr(CudaOps.addr(gd)).i32(CudaOps.dt(gd))
                    .ptr(CudaOps.addr(xd)).i32(CudaOps.dt(xd)).i32(d.n()).i32(d.c()).i32(d.s());
            vec(vec(a, mean), rstd);
            CudaOps.launchRows(ctx, BACKWARD_REDUCE, d.c(), a);
            Tensor gx = CudaOps.empty(ctx, x.dtype(), x.shape());
            KernelArgs b = KernelArgs.begin().ptr(CudaOps.addr(gx)).i32(CudaOps.dt(gx)).ptr(CudaOps.addr(gd)).i32(CudaOps.dt(gd))
                    .ptr(CudaOps.addr(xd)).i32(CudaOps.dt(xd)).i32(d.n()).i32(d.c()).i32(d.s());
            vec(vec(vec(b, mean), rstd), w).ptr(CudaOps.addr(sg)).ptr(CudaOps.addr(sgx)).i32(training ? 1 : 0);
            CudaOps.launchN(ctx, BACKWARD_APPLY, gx.numel(), b);
            if (w == null) return new Tensor[]{gx, null, null};
            return new Tensor[]{gx, CudaCopy.cast(ctx, sgx, x.dtype()), CudaCopy.cast(ctx, sg, x.dtype())};
        } finally {
            CudaCopy.release(xd, x);
            CudaCopy.release(gd, gy);
            sg.close();
            sgx.close();
        }
    }
}
