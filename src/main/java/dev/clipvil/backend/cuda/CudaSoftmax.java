package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/** Softmax and log-softmax along one dim of any strided view, and their backward (kernels/softmax.cu). */
final class CudaSoftmax {
    static final Kernel FORWARD = Kernel.of("softmax", "softmax_forward");
    static final Kernel BACKWARD = Kernel.of("softmax", "softmax_backward");

    private CudaSoftmax() {}

    /** Shape and strides without dim {@code d}. */
    private static int[] without(int[] a, int d) {
        int[] r = new int[a.length - 1];
        for (int i = 0, j = 0; i < a.length; i++) if (i != d) r[j++] = a[i];
        return r;
    }

    static Tensor softmax(CudaContext ctx, Tensor x, int dim, boolean log) {
        String op = log ? "log_softmax" : "softmax";
        DTypes.requireFloat(op, x.dtype());
        CudaOps.requireOn(ctx, op, x);
        if (x.dim() == 0) throw new ShapeException(op + ": needs at least one dimension, got a scalar");
        int d = Shapes.dim(op, dim, x.dim());
        Tensor out = CudaOps.empty(ctx, x.dtype(), x.shape());
        int[] shape = x.shape();
        Geometry outer = Geometry.of(without(shape, d), without(x.strides(), d), without(out.strides(), d));
        if (outer.numel() == 0 || shape[d] == 0) return out;
        CudaOps.launchRows(ctx, FORWARD, outer.numel(), KernelArgs.begin().ptr(CudaOps.addr(out)).i32(CudaOps.dt(out)).ptr(CudaOps.addr(x))
                .i32(CudaOps.dt(x)).i32(shape[d]).i32(x.stride(d)).i32(out.stride(d)).i32(log ? 1 : 0).geom(outer));
        return out;
    }

    static Tensor backward(CudaContext ctx, Tensor y, Tensor gy, int dim, boolean log) {
        String op = log ? "log_softmax_backward" : "softmax_backward";
        DTypes.requireFloat(op, y.dtype());
        DTypes.requireFloat(op, gy.dtype());
        CudaOps.requireOn(ctx, op, y, gy);
        if (!java.util.Arrays.equals(y.shape(), gy.shape())) {
            throw new ShapeException(op + ": output " + Shapes.str(y.shape()) + " and gradient " + Shapes.str(gy.shape()) + " differ");
        }
        if (y.dim() == 0) throw new ShapeException(op + ": needs at least one dimension, got a scalar");
        int d = Shapes.dim(op, dim, y.dim());
        Tensor gx = CudaOps.empty(ctx, gy.dtype(), y.shape());
        int[] shape = y.shape();
        Geometry outer = Geometry.of(without(shape, d), without(y.strides(), d), without(gy.strides(), d), without(gx.strides(), d));
        if (outer.numel() == 0 || shape[d] == 0) return gx;
        CudaOps.launchRows(ctx, BACKWARD, outer.numel(), KernelArgs.begin().ptr(CudaOps.addr(gx)).i32(CudaOps.dt(gx)).ptr(CudaOps.addr(y))
                .i32(CudaOps.dt(y)).ptr(CudaOps.addr(gy)).i32(CudaOps.dt(gy)).i32(shape[d]).i32(y.stride(d)).i32(gy.stride(d))
                .i32(gx.stride(d)).i32(log ? 1 : 0).geom(outer));
        return gx;
    }
}
