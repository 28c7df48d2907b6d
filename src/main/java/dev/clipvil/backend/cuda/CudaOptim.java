package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.Arrays;

/**
 * In-place AdamW and SGD updates over any strided operands, one fused kernel each (kernels/optim.cu).
 * Inside a CUDA graph capture the learning rate and step count go to a device scalar slot of the
 * graph ({@link CudaGraph#scalarSlot}) and the *_dev kernels read them there, so each replay uses the
 * values its {@link CudaGraph#refresh} wrote; during a refresh an update only writes its slot.
 */
final class CudaOptim {
    static final Kernel ADAMW = Kernel.of("optim", "adamw_step");
    static final Kernel SGD = Kernel.of("optim", "sgd_step");
    static final Kernel ADAMW_DEV = Kernel.of("optim", "adamw_step_dev");
    static final Kernel SGD_DEV = Kernel.of("optim", "sgd_step_dev");

    private CudaOptim() {}

    private static void check(CudaContext ctx, String op, Tensor p, Tensor... others) {
        CudaOps.requireOn(ctx, op, p);
        DTypes.requireFloat(op, p.dtype());
        for (Tensor t : others) {
            if (t == null) continue;
            CudaOps.requireOn(ctx, op, t);
            CudaElementwise.sameDType(op, p, t);
            if (!Arrays.equals(p.shape(), t.shape())) {
                throw new ShapeException(op + ": operand of shape " + Shapes.str(t.shape()) + " does not match the parameter's " + Shapes.str(p.shape()));
            }
        }
    }

    static void adamw(CudaContext ctx, Tensor p, Tensor g, Tensor m, Tensor v, double lr, double b1, double b2, double eps, double wd, long step) {
        if (step < 1) throw new IllegalArgumentException("adamw: step must be >= 1, got " + step);
        check(ctx, "adamw", p, g, m, v);
        CudaGraph refreshing = ctx.refreshing(), capturing = ctx.capturing();
        if (refreshing != null) {
            refreshing.refreshSlot("adamw", CudaOps.addr(p), lr, step);
            return;
        }
        if (capturing != null) {
            long sc = capturing.scalarSlot("adamw", CudaOps.addr(p), lr, step);
            Geometry geo = Geometry.of(p.shape(), p.strides(), m.strides(), v.strides(), g.strides());
            CudaOps.launch(ctx, ADAMW_DEV, geo, KernelArgs.begin().ptr(CudaOps.addr(p)).ptr(CudaOps.addr(m)).ptr(CudaOps.addr(v)).ptr(CudaOps.addr(g))
                    .i32(CudaOps.dt(p)).f64(b1).f64(b2).f64(eps).f64(wd).ptr(sc).geom(geo));
            return;
        }
        double decay = 1 - lr * wd;
        double bc1 = 1 - Math.pow(b1, step);
        double bc2Sqrt = Math.sqrt(1 - Math.pow(b2, step));
        double stepSize = lr / bc1;
        Geometry geo = Geometry.of(p.shape(), p.strides(), m.strides(), v.strides(), g.strides());
        CudaOps.launch(ctx, ADAMW, geo, KernelArgs.begin().ptr(CudaOps.addr(p)).ptr(CudaOps.addr(m)).ptr(CudaOps.addr(v)).ptr(CudaOps.addr(g))
                .i32(CudaOps.dt(p)).f64(b1).f64(b2).f64(eps).f64(decay).f64(stepSize).f64(bc2Sqrt).geom(geo));
    }

    static void sgd(CudaContext ctx, Tensor p, Tensor g, Tensor buf, double lr, double momentum, double dampening, double wd,
                    boolean nesterov, boolean first) {
        if (momentum == 0 && nesterov) throw new IllegalArgumentException("sgd: nesterov needs a momentum > 0");
        if (momentum != 0 && buf == null) throw new IllegalArgumentException("sgd: a momentum buffer is required when momentum is " + momentum);
        boolean hasBuf = momentum != 0;
        check(ctx, "sgd", p, g, hasBuf ? buf : null);
        CudaGraph refreshing = ctx.refreshing(), capturing = ctx.capturing();
        if (refreshing != null) {
            refreshing.refreshSlot("sgd", CudaOps.addr(p), lr, first ? 1 : 0);
            return;
        }
        if (capturing != null) {
            long sc = capturing.scalarSlot("sgd", CudaOps.addr(p), lr, first ? 1 : 0);
            Geometry geo = Geometry.of(p.shape(), p.strides(), hasBuf ? buf.strides() : new int[p.dim()], g.strides());
            CudaOps.launch(ctx, SGD_DEV, geo, KernelArgs.begin().ptr(CudaOps.addr(p)).ptr(hasBuf ? CudaOps.addr(buf) : 0).ptr(CudaOps.addr(g))
                    .i32(CudaOps.dt(p)).ptr(sc).f64(momentum).f64(dampening).f64(wd).i32(nesterov ? 1 : 0).i32(hasBuf ? 1 : 0).geom(geo));
            return;
        }
        Geometry geo = Geometry.of(p.shape(), p.strides(), hasBuf ? buf.strides() : new int[p.dim()], g.strides());
        CudaOps.launch(ctx, SGD, geo, KernelArgs.begin().ptr(CudaOps.addr(p)).ptr(hasBuf ? CudaOps.addr(buf) : 0).ptr(CudaOps.addr(g))
                .i32(CudaOps.dt(p)).f64(lr).f64(momentum).f64(dampening).f64(wd).i32(nesterov ? 1 : 0).i32(first ? 1 : 0)
                .i32(hasBuf ? 1 : 0).geom(geo));
    }
}
