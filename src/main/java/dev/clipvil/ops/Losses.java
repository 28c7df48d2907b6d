package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.backend.BinaryOp;
import dev.clipvil.backend.CompareOp;
import dev.clipvil.backend.ReduceOp;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.Device;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/**
 * Differentiable losses with PyTorch's semantics. Gradients flow to the logits only; targets (class
 * ids or probabilities) are data and get none.
 */
public final class Losses {
    private Losses() {}

    /** PyTorch's default ignore_index. */
    public static final int IGNORE_INDEX = -100;

    /** Mean cross-entropy over the rows whose target is not -100, as torch.nn.functional.cross_entropy. */
    public static Tensor crossEntropy(Tensor logits, Tensor target) {
        return crossEntropy(logits, target, IGNORE_INDEX, Reduction.MEAN);
    }

    /**
     * Cross-entropy of {@code logits} [N, C] (or [N, C, d1, ...], class dim 1, as PyTorch) against class
     * ids [N] ([N, d1, ...]; I32/I64; rows equal to {@code ignoreIndex} contribute 0 and are not counted
     * by MEAN) or probabilities of the logits' shape (floating; MEAN divides by the number of rows).
     * NONE returns the per-row losses [N] ([N, d1, ...]); MEAN and SUM a 0-d tensor. A MEAN over rows
     * that are all ignored is NaN, as in PyTorch.
     */
    public static Tensor crossEntropy(Tensor logits, Tensor target, int ignoreIndex, Reduction r) {
        int rank = logits.dim();
        if (rank < 2) {
            throw new ShapeException("cross_entropy: logits must be [N, C] or [N, C, d1, ...], got shape " + Shapes.str(logits.shape()));
        }
        if (rank == 2) return crossEntropy2d(logits, target, ignoreIndex, r, rank);
        // [N, C, d...] -> [N, d..., C] -> [M, C]: the class dim last, one row per position.
        int[] ls = logits.shape();
        int c = ls[1];
        int[] perm = classLast(rank);
        int[] rowShape = new int[rank - 1];
        rowShape[0] = ls[0];
        System.arraycopy(ls, 2, rowShape, 1, rank - 2);
        checkTarget(target, rowShape, ls);
        Tensor rows2d = Views.reshape(Views.permute(logits, perm), logits.numel() / Math.max(1, c), c);
        Tensor loss = crossEntropy2d(rows2d, target, ignoreIndex, r, rank);
        if (r != Reduction.NONE) return loss;
        return Views.reshape(loss, rowShape);
    }

    private static Tensor crossEntropy2d(Tensor logits, Tensor target, int ignoreIndex, Reduction r, int rank) {
        Backend be = Backends.of("cross_entropy", logits, target);
        int n = logits.shape(0);
        Tensor t2 = flatTarget(be, target, rank, logits.shape());
        Tensor rows;
        double count;
        // On a device the rows that count are counted there: reading the targets on the host would
        // wait for the device every step (and cannot be part of a captured CUDA graph).
        boolean deviceCount = r == Reduction.MEAN && isIds(t2) && t2.device().kind() != Device.Kind.CPU;
        Tensor countT = null;
        try {
            rows = be.crossEntropy(logits, t2, ignoreIndex);
            if (deviceCount) countT = countOnDevice(be, t2, ignoreIndex);
            count = r == Reduction.MEAN && !deviceCount ? counted(t2, ignoreIndex, n) : 1;
        } finally {
            t2.close();
        }
        if (deviceCount) return meanOnDevice(be, logits, target, rows, countT, ignoreIndex, rank, n);
        Tensor out = reduce(be, rows, r, count);
        double scale = 1.0 / count;
        int[] ls = logits.shape();
        return Autograd.record("cross_entropy", out, new Tensor[]{logits}, new Tensor[]{logits, target}, (g, s) -> {
            Backend bg = Backends.of(g);
            Tensor t = flatTarget(bg, s[1], rank, ls);
            Tensor gRows = perElement(bg, g, r, scale, new int[]{n});
            try {
                return new Tensor[]{bg.crossEntropyBackward(s[0], t, ignoreIndex, gRows)};
            } finally {
                t.close();
                if (gRows != g) gRows.close();
            }
        });
    }

    private static boolean isIds(Tensor t) { return t.dtype() == DType.I32 || t.dtype() == DType.I64; }

    /** A 0-d F32 tensor: the rows of ids {@code t2} that are not {@code ignoreIndex}. */
    private static Tensor countOnDevice(Backend be, Tensor t2, int ignoreIndex) {
        Tensor ignore = be.empty(t2.dtype());
        Tensor keep = null, keepF = null;
        try {
            be.fill(ignore, ignoreIndex);
            keep = be.compare(CompareOp.NE, t2, ignore);
            keepF = be.cast(keep, DType.F32);
            return be.reduce(ReduceOp.SUM, keepF, new int[0], false);
        } finally {
            ignore.close();
            if (keep != null) keep.close();
            if (keepF != null) keepF.close();
        }
    }

    /** MEAN over the counted rows with the count a device tensor (sum / count forward, g / count backward). */
    private static Tensor meanOnDevice(Backend be, Tensor logits, Tensor target, Tensor rows, Tensor countT, int ignoreIndex, int rank, int n) {
        Tensor sum = be.reduce(ReduceOp.SUM, rows, new int[0], false);
        rows.close();
        Tensor c = countT.dtype() == sum.dtype() ? countT : be.cast(countT, sum.dtype());
        if (c != countT) countT.close();
        Tensor out = be.binary(BinaryOp.DIV, sum, c);
        sum.close();
        if (!Autograd.needsGrad(logits)) {
            c.close();
            return out;
        }
        int[] ls = logits.shape();
        return Autograd.record("cross_entropy", out, new Tensor[]{logits}, new Tensor[]{logits, target, c}, (g, s) -> {
            Backend bg = Backends.of(g);
            Tensor t = flatTarget(bg, s[1], rank, ls);
            Tensor gs = bg.binary(BinaryOp.DIV, g, s[2]);
            Tensor gRows = OpUtil.broadcastScalar(gs, new int[]{n});
            gs.close();
            try {
                return new Tensor[]{bg.crossEntropyBackward(s[0], t, ignoreIndex, gRows)};
            } finally {
                t.close();
                gRows.close();
            }
        });
    }

    /** Mean binary cross-entropy with logits against (soft) targets of x's shape. */
    public static Tensor bceWithLogits(Tensor x, Tensor target) { return bceWithLogits(x, target, Reduction.MEAN); }

    /**
     * torch.nn.functional.binary_cross_entropy_with_logits: max(x, 0) - x t + log(1 + exp(-|x|))
     * elementwise, then reduced; the gradient wrt x is (sigmoid(x) - t) g.
     */
    public static Tensor bceWithLogits(Tensor x, Tensor target, Reduction r) {
        Backend be = Backends.of("binary_cross_entropy_with_logits", x, target);
        Tensor el = be.bceWithLogits(x, target);
        double scale = r == Reduction.MEAN ? 1.0 / x.numel() : 1.0;
        Tensor out = reduce(be, el, r, x.numel());
        int[] xs = x.shape();
        return Autograd.record("binary_cross_entropy_with_logits", out, new Tensor[]{x}, new Tensor[]{x, target}, (g, s) -> {
            Backend bg = Backends.of(g);
            Tensor ge = perElement(bg, g, r, scale, xs);
            try {
                return new Tensor[]{bg.bceWithLogitsBackward(s[0], s[1], ge)};
            } finally {
                if (ge != g) ge.close();
            }
        });
    }

    // ---- shared -----------------------------------------------------------------------------

    /** Reduces the per-element losses (closing them unless NONE keeps them) by SUM, or by SUM / count. */
    private static Tensor reduce(Backend be, Tensor el, Reduction r, double count) {
        if (r == Reduction.NONE) return el;
        Tensor sum = be.reduce(ReduceOp.SUM, el, new int[0], false);
        el.close();
        if (r == Reduction.SUM) return sum;
        Tensor mean = be.binaryScalar(BinaryOp.MUL, sum, 1.0 / count);
        sum.close();
        return mean;
    }

    /** The gradient of each element from the output gradient: g itself (NONE) or the scalar g * scale broadcast. */
    private static Tensor perElement(Backend be, Tensor g, Reduction r, double scale, int[] shape) {
        if (r == Reduction.NONE) return g;
        Tensor gs = scale == 1.0 ? g : be.binaryScalar(BinaryOp.MUL, g, scale);
        Tensor b = OpUtil.broadcastScalar(gs, shape);
        if (gs != g) gs.close();
        return b;
    }

    /** Rows whose class id is not {@code ignoreIndex} (all rows for soft targets). */
    private static double counted(Tensor target, int ignoreIndex, int n) {
        if (target.dtype() != DType.I32 && target.dtype() != DType.I64) return n;
        long kept = 0;
        for (long v : target.toLongArray()) if (v != ignoreIndex) kept++;
        return kept;
    }

    /**
     * The target in the 2-D layout of the flattened logits (a new handle the caller closes): ids [M] or
     * probabilities [M, C]. For rank > 2 the ids [N, d...] are flattened and the probabilities
     * [N, C, d...] get their class dim moved last first.
     */
    private static Tensor flatTarget(Backend be, Tensor target, int rank, int[] logits2d) {
        int m = logits2d[0], c = logits2d[1];
        boolean ids = target.dtype() == DType.I32 || target.dtype() == DType.I64;
        if (rank == 2) return target.asStrided(target.shape(), target.strides(), target.offset());
        if (ids) return OpUtil.reshaped(be, target, m);
        int[] perm = classLast(rank);
        int[] s = target.shape(), st = target.strides();
        int[] ps = new int[rank], pst = new int[rank];
        for (int i = 0; i < rank; i++) { ps[i] = s[perm[i]]; pst[i] = st[perm[i]]; }
        Tensor p = target.asStrided(ps, pst, target.offset());
        Tensor r = OpUtil.reshaped(be, p, m, c);
        p.close();
        return r;
    }

    /** For logits [N, C, d...]: class ids must be [N, d...], probabilities [N, C, d...]. */
    private static void checkTarget(Tensor target, int[] rowShape, int[] logitsShape) {
        boolean ids = target.dtype() == DType.I32 || target.dtype() == DType.I64;
        if (!java.util.Arrays.equals(target.shape(), ids ? rowShape : logitsShape)) {
            throw new ShapeException("cross_entropy: target of shape " + Shapes.str(target.shape()) + " does not fit logits " + Shapes.str(logitsShape)
                    + " (want class ids " + Shapes.str(rowShape) + " or probabilities " + Shapes.str(logitsShape) + ")");
        }
    }

    /** The permutation [0, 2, 3, ..., rank-1, 1]. */
    private static int[] classLast(int rank) {
        int[] perm = new int[rank];
        perm[0] = 0;
        for (int i = 2; i < rank; i++) perm[i - 1] = i;
        perm[rank - 1] = 1;
        return perm;
    }
}
