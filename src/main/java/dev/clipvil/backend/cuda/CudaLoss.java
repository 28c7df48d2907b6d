package dev.clipvil.backend.cuda;

import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.Arrays;

/** Cross-entropy over logit rows (hard or soft targets) and binary cross-entropy with logits (kernels/loss.cu). */
final class CudaLoss {
    static final Kernel CE_FORWARD = Kernel.of("loss", "cross_entropy_forward");
    static final Kernel CE_BACKWARD = Kernel.of("loss", "cross_entropy_backward");
    static final Kernel BCE_FORWARD = Kernel.of("loss", "bce_logits_forward");
    static final Kernel BCE_BACKWARD = Kernel.of("loss", "bce_logits_backward");

    private CudaLoss() {}

    /** Checked operands: dense logits, soft target (dense) or class ids (as given). */
    private record Ce(Tensor logits, Tensor target, boolean soft, int n, int c) {
        void release(Tensor l, Tensor t) {
            CudaCopy.release(logits, l);
            if (soft) CudaCopy.release(target, t);
        }
    }

    private static Ce prepare(CudaContext ctx, String op, Tensor logits, Tensor target, int ignoreIndex) {
        CudaOps.requireOn(ctx, op, logits, target);
        DTypes.requireFloat(op, logits.dtype());
        if (logits.dim() != 2) throw new ShapeException(op + ": logits must have rank 2, got shape " + Shapes.str(logits.shape()));
        int n = logits.shape(0), c = logits.shape(1);
        if (target.dtype() == DType.I32 || target.dtype() == DType.I64) {
            if (!Arrays.equals(target.shape(), new int[]{n})) {
                throw new ShapeException(op + ": class-index target of shape " + Shapes.str(target.shape()) + " does not match logits "
                        + Shapes.str(logits.shape()) + " (want [" + n + "])");
            }
            CudaIndex.checkIndices(ctx, op, target, c, ignoreIndex, true, "for " + c + " classes (logits " + Shapes.str(logits.shape())
                    + ", ignore index " + ignoreIndex + ")");
            return new Ce(CudaCopy.dense(ctx, logits), target, false, n, c);
        }
        if (!target.dtype().isFloating()) {
            throw new DTypeException(op + ": target must be class indices (I32/I64) or probabilities (floating), got " + target.describe());
        }
        if (!Arrays.equals(target.shape(), logits.shape())) {
            throw new ShapeException(op + ": soft target of shape " + Shapes.str(target.shape()) + " does not match logits " + Shapes.str(logits.shape()));
        }
        return new Ce(CudaCopy.dense(ctx, logits), CudaCopy.dense(ctx, target), true, n, c);
    }

    static Tensor crossEntropy(CudaContext ctx, Tensor logits, Tensor target, int ignoreIndex) {
        Ce ce = prepare(ctx, "cross_entropy", logits, target, ignoreIndex);
        try {
            Tensor out = CudaOps.empty(ctx, logits.dtype(), ce.n());
            CudaOps.launchRows(ctx, CE_FORWARD, ce.n(), KernelArgs.begin().ptr(CudaOps.addr(out)).i32(CudaOps.dt(out))
                    .ptr(CudaOps.addr(ce.logits())).i32(CudaOps.dt(ce.logits())).i32(ce.n()).i32(ce.c()).ptr(CudaOps.addr(ce.target()))
                    .i32(CudaOps.dt(ce.target())).i32(ce.soft() ? 0 : CudaOps.stride1(ce.target())).i32(ce.soft() ? 1 : 0).i64(ignoreIndex));
            return out;
        } finally {
            ce.release(logits, target);
        }
    }

    static Tensor crossEntropyBackward(CudaContext ctx, Tensor logits, Tensor target, int ignoreIndex, Tensor gLoss) {
        String op = "cross_entropy_backward";
        Ce ce = prepare(ctx, op, logits, target, ignoreIndex);
        try {
            CudaOps.requireOn(ctx, op, gLoss);
            if (!Arrays.equals(gLoss.shape(), new int[]{ce.n()})) {
                throw new ShapeException(op + ": loss gradient of shape " + Shapes.str(gLoss.shape()) + " does not match [" + ce.n() + "] rows of logits "
                        + Shapes.str(logits.shape()));
            }
            DTypes.requireFloat(op, gLoss.dtype());
            Tensor out = CudaOps.empty(ctx, logits.dtype(), ce.n(), ce.c());
            CudaOps.launchRows(ctx, CE_BACKWARD, ce.n(), KernelArgs.begin().ptr(CudaOps.addr(out)).i32(CudaOps.dt(out))
                    .ptr(CudaOps.addr(ce.logits())).i32(CudaOps.dt(ce.logits())).i32(ce.n()).i32(ce.c()).ptr(CudaOps.addr(ce.target()))
                    .i32(CudaOps.dt(ce.target())).i32(ce.soft() ? 0 : CudaOps.stride1(ce.target())).i32(ce.soft() ? 1 : 0).i64(ignoreIndex)
                    .ptr(CudaOps.addr(gLoss)).i32(CudaOps.dt(gLoss)).i32(CudaOps.stride1(gLoss)));
            return out;
        } finally {
            ce.release(logits, target);
        }
    }

    private static void checkBce(CudaContext ctx, String op, Tensor x, Tensor target, Tensor g) {
        CudaOps.requireOn(ctx, op, x, target, g);
        DTypes.requireFloat(op, x.dtype());
        if (!target.dtype().isFloating()) throw new DTypeException(op + ": target must be floating (probabilities), got " + target.describe());
        for (Tensor t : g == null ? new Tensor[]{target} : new Tensor[]{target, g}) {
            if (!Arrays.equals(t.shape(), x.shape())) {
                throw new ShapeException(op + ": shape " + Shapes.str(t.shape()) + " does not match the logits " + Shapes.str(x.shape()));
            }
            DTypes.requireFloat(op, t.dtype());
        }
    }

    static Tensor bceWithLogits(CudaContext ctx, Tensor x, Tensor target) {
        String op = "binary_cross_entropy_with_logits";
        checkBce(ctx, op, x, target, null);
        Tensor out = CudaOps.empty(ctx, x.dtype(), x.shape());
        Geometry g = Geometry.of(x.shape(), out.strides(), x.strides(), target.strides());
        CudaOps.launch(ctx, BCE_FORWARD, g, KernelArgs.begin().ptr(CudaOps.addr(out)).i32(CudaOps.dt(out)).ptr(CudaOps.addr(x)).i32(CudaOps.dt(x))
                .ptr(CudaOps.addr(target)).i32(CudaOps.dt(target)).geom(g));
        return out;
    }

    static Tensor bceWithLogitsBackward(CudaContext ctx, Tensor x, Tensor target, Tensor gr) {
        String op = "binary_cross_entropy_with_logits_backward";
        checkBce(ctx, op, x, target, gr);
        Tensor out = CudaOps.empty(ctx, x.dtype(), x.shape());
        Geometry g = Geometry.of(x.shape(), out.strides(), x.strides(), target.strides(), gr.strides());
        CudaOps.launch(ctx, BCE_BACKWARD, g, KernelArgs.begin().ptr(CudaOps.addr(out)).i32(CudaOps.dt(out)).ptr(CudaOps.addr(x)).i32(CudaOps.dt(x))
                .ptr(CudaOps.addr(target)).i32(CudaOps.dt(target)).ptr(CudaOps.addr(gr)).i32(CudaOps.dt(gr)).geom(g));
        return out;
    }
}
