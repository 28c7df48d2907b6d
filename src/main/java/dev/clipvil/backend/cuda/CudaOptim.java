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
 *
 * <p>Multi-tensor updates ({@code adamwMulti}, {@code sgdMulti}): the contiguous parameters of one
 * group go up to {@link TensorList#MAX} at a time into one launch of adamw_multi / sgd_multi, the list
 * passed by value in the kernel's parameters, so a ViT-B/32 step (152 tensors) takes 4 launches
 * instead of 152. Same arithmetic as the single-tensor kernels, element for element. Strided
 * operands, mixed dtypes and tensors of 2^31 elements or more take the single-tensor path, and so
 * does everything while a CUDA graph is captured or refreshed (the per-step scalars must then come
 * from device slots, see above; a replay has no launch cost to save anyway).
 */
final class CudaOptim {
    static final Kernel ADAMW = Kernel.of("optim", "adamw_step");
    static final Kernel SGD = Kernel.of("optim", "sgd_step");
    static final Kernel ADAMW_DEV = Kernel.of("optim", "adamw_step_dev");
    static final Kernel SGD_DEV = Kernel.of("optim", "sgd_step_dev");
    static final Kernel ADAMW_MULTI = Kernel.of("optim", "adamw_multi");
    static final Kernel SGD_MULTI = Kernel.of("optim", "sgd_multi");
    /** Elements per block of the multi-tensor kernels (256 threads, 256 elements each). */
    static final int CHUNK = 1 << 16;
    private static final int MULTI_BLOCK = 256;

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

    /** True when the multi-tensor kernels may take this parameter and its operands: dense, one dtype, int-indexable. */
    private static boolean dense(Tensor p, Tensor... others) {
        if (p.numel() == 0 || !p.isContiguous() || p.dtype() != others[0].dtype()) return false;
        for (Tensor t : others) {
            if (t != null && (!t.isContiguous() || t.dtype() != p.dtype() || !Arrays.equals(t.shape(), p.shape()))) return false;
        }
        return true;
    }

    static void adamwMulti(CudaContext ctx, Tensor[] p, Tensor[] g, Tensor[] m, Tensor[] v, double lr, double b1, double b2, double eps,
                           double wd, long[] steps) {
        boolean graph = ctx.capturing() != null || ctx.refreshing() != null;
        TensorList list = new TensorList(CHUNK);
        int dt = -1;
        for (int i = 0; i < p.length; i++) {
            if (steps[i] < 1) throw new IllegalArgumentException("adamw: step must be >= 1, got " + steps[i]);
            check(ctx, "adamw", p[i], g[i], m[i], v[i]);
            if (graph || !dense(p[i], g[i], m[i], v[i]) || (dt >= 0 && CudaOps.dt(p[i]) != dt)) {
                adamw(ctx, p[i], g[i], m[i], v[i], lr, b1, b2, eps, wd, steps[i]);
                continue;
            }
            dt = CudaOps.dt(p[i]);
            double stepSize = lr / (1 - Math.pow(b1, steps[i])), bc2Sqrt = Math.sqrt(1 - Math.pow(b2, steps[i]));
            list.add(CudaOps.addr(p[i]), CudaOps.addr(m[i]), CudaOps.addr(v[i]), CudaOps.addr(g[i]), p[i].numel(), stepSize, bc2Sqrt);
            if (list.full()) {
                launchAdamw(ctx, list, dt, b1, b2, eps, 1 - lr * wd);
                list = new TensorList(CHUNK);
            }
        }
        if (list.count > 0) launchAdamw(ctx, list, dt, b1, b2, eps, 1 - lr * wd);
    }

    private static void launchAdamw(CudaContext ctx, TensorList l, int dt, double b1, double b2, double eps, double decay) {
        KernelLaunch.launch(ctx, ADAMW_MULTI, l.blocks(), MULTI_BLOCK, 0, KernelArgs.begin().tensorList(l).i32(dt).f64(b1).f64(b2).f64(eps).f64(decay));
    }

    static void sgdMulti(CudaContext ctx, Tensor[] p, Tensor[] g, Tensor[] bufs, double lr, double momentum, double dampening, double wd,
                         boolean nesterov, boolean[] first) {
        if (momentum == 0 && nesterov) throw new IllegalArgumentException("sgd: nesterov needs a momentum > 0");
        boolean hasBuf = momentum != 0;
        boolean graph = ctx.capturing() != null || ctx.refreshing() != null;
        TensorList list = new TensorList(CHUNK);
        int dt = -1;
        for (int i = 0; i < p.length; i++) {
            Tensor buf = bufs == null ? null : bufs[i];
            if (hasBuf && buf == null) throw new IllegalArgumentException("sgd: a momentum buffer is required when momentum is " + momentum);
            check(ctx, "sgd", p[i], g[i], hasBuf ? buf : null);
            if (graph || !dense(p[i], g[i], hasBuf ? buf : null) || (dt >= 0 && CudaOps.dt(p[i]) != dt)) {
                sgd(ctx, p[i], g[i], buf, lr, momentum, dampening, wd, nesterov, first[i]);
                continue;
            }
            dt = CudaOps.dt(p[i]);
            list.add(CudaOps.addr(p[i]), hasBuf ? CudaOps.addr(buf) : 0, 0, CudaOps.addr(g[i]), p[i].numel(), first[i] ? 1 : 0, 0);
            if (list.full()) {
                launchSgd(ctx, list, dt, lr, momentum, dampening, wd, nesterov);
                list = new TensorList(CHUNK);
            }
        }
        if (list.count > 0) launchSgd(ctx, list, dt, lr, momentum, dampening, wd, nesterov);
    }

    private static void launchSgd(CudaContext ctx, TensorList l, int dt, double lr, double momentum, double dampening, double wd, boolean nesterov) {
        KernelLaunch.launch(ctx, SGD_MULTI, l.blocks(), MULTI_BLOCK, 0,
                KernelArgs.begin().tensorList(l).i32(dt).f64(lr).f64(momentum).f64(dampening).f64(wd).i32(nesterov ? 1 : 0));
    }
}
