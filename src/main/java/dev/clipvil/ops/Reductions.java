package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.backend.BinaryOp;
import dev.clipvil.backend.CompareOp;
import dev.clipvil.backend.ReduceOp;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/** Differentiable reductions. */
public final class Reductions {
    private Reductions() {}

    /** Sum over all elements: a 0-d tensor. */
    public static Tensor sum(Tensor x) { return sum(x, new int[0], false); }

    public static Tensor sum(Tensor x, int[] dims, boolean keepDim) {
        Tensor out = Backends.of(x).reduce(ReduceOp.SUM, x, dims, keepDim);
        int[] xs = x.shape();
        int[] kept = keptShape(xs, dims);
        return Autograd.record("sum", out, new Tensor[]{x}, null, (g, s) -> new Tensor[]{broadcastTo(g, kept, xs)});
    }

    public static Tensor mean(Tensor x) { return mean(x, new int[0], false); }

    public static Tensor mean(Tensor x, int[] dims, boolean keepDim) {
        Tensor out = Backends.of(x).reduce(ReduceOp.MEAN, x, dims, keepDim);
        int[] xs = x.shape();
        int[] kept = keptShape(xs, dims);
        double n = (double) Shapes.numel(xs) / Math.max(1, Shapes.numel(kept));
        return Autograd.record("mean", out, new Tensor[]{x}, null, (g, s) -> {
            Tensor b = broadcastTo(g, kept, xs);
            Tensor r = Backends.of(g).binaryScalar(BinaryOp.MUL, b, 1.0 / n);
            b.close();
            return new Tensor[]{r};
        });
    }

    /** Max over dims; the gradient goes to every position equal to the max. */
    public static Tensor max(Tensor x, int[] dims, boolean keepDim) { return extreme(ReduceOp.MAX, x, dims, keepDim); }

    public static Tensor min(Tensor x, int[] dims, boolean keepDim) { return extreme(ReduceOp.MIN, x, dims, keepDim); }

    private static Tensor extreme(ReduceOp op, Tensor x, int[] dims, boolean keepDim) {
        Tensor out = Backends.of(x).reduce(op, x, dims, keepDim);
        int[] xs = x.shape();
        int[] kept = keptShape(xs, dims);
        return Autograd.record(op.name().toLowerCase(), out, new Tensor[]{x}, new Tensor[]{x, out}, (g, s) -> {
            Backend be = Backends.of(g);
            Tensor m = s[1].asStrided(kept, Shapes.contiguousStrides(kept), s[1].offset());
            Tensor eq = be.compare(CompareOp.EQ, s[0], m);
            m.close();
            Tensor gb = g.asStrided(kept, Shapes.contiguousStrides(kept), g.offset());
            Tensor zero = be.empty(g.dtype());
            be.fill(zero, 0);
            Tensor r = be.where(eq, gb, zero);
            eq.close();
            gb.close();
            zero.close();
            return new Tensor[]{r};
        });
    }

    /** Variance with Bessel's correction (1 = unbiased, as torch.var's default). */
    public static Tensor var(Tensor x, int[] dims, int correction, boolean keepDim) {
        Tensor out = Backends.of(x).variance(x, dims, correction, keepDim);
        int[] xs = x.shape();
        int[] kept = keptShape(xs, dims);
        double n = (double) Shapes.numel(xs) / Math.max(1, Shapes.numel(kept));
        return Autograd.record("var", out, new Tensor[]{x}, new Tensor[]{x}, (g, s) -> {
            // d var / dx = 2 (x - mean) / (n - correction)
            Backend be = Backends.of(g);
            Tensor mean = be.reduce(ReduceOp.MEAN, s[0], dims, true);
            Tensor c = be.binary(BinaryOp.SUB, s[0], mean);
            mean.close();
            Tensor gb = g.asStrided(kept, Shapes.contiguousStrides(kept), g.offset());
            Tensor t = be.binary(BinaryOp.MUL, c, gb);
            c.close();
            gb.close();
            Tensor r = be.binaryScalar(BinaryOp.MUL, t, 2.0 / Math.max(n - correction, 1e-300));
            t.close();
            return new Tensor[]{r};
        });
    }

    /** Index of the maximum along {@code dim} (I64); not differentiable. */
    public static Tensor argmax(Tensor x, int dim, boolean keepDim) { return Backends.of(x).argmax(x, dim, keepDim); }

    /** The input shape with reduced dims set to 1. */
    static int[] keptShape(int[] shape, int[] dims) {
        int[] k = shape.clone();
        if (dims.length == 0) java.util.Arrays.fill(k, 1);
        for (int d : dims) k[Shapes.dim("reduce", d, shape.length)] = 1;
        return k;
    }

    /** Broadcasts g (with keepdim shape {@code kept}) to {@code shape}, as a new contiguous tensor. */
    static Tensor broadcastTo(Tensor g, int[] kept, int[] shape) {
        Backend be = Backends.of(g);
        Tensor gk = g.asStrided(kept, Shapes.contiguousStrides(kept), g.offset());
        if (!g.isContiguous()) {
            gk.close();
            Tensor c = be.contiguous(g);
            gk = c.asStrided(kept, Shapes.contiguousStrides(kept), 0);
            c.close();
        }
        Tensor out = be.empty(g.dtype(), shape);
        be.copy(gk, out);
        gk.close();
        return out;
    }

    /**
     * Sums {@code g} over the dims that broadcasting added or expanded, so that it has {@code shape}.
     * Returns {@code g} itself when the shapes already match (no autograd: a backward helper).
     */
    public static Tensor sumToShape(Tensor g, int[] shape) {
        int[] gs = g.shape();
        if (java.util.Arrays.equals(gs, shape)) return g;
        int lead = gs.length - shape.length;
        if (lead < 0) throw new ShapeException("sum_to_shape: cannot reduce " + Shapes.str(gs) + " to " + Shapes.str(shape));
        int n = 0;
        int[] dims = new int[gs.length];
        for (int i = 0; i < gs.length; i++) {
            if (i < lead || (shape[i - lead] == 1 && gs[i] != 1)) dims[n++] = i;
            else if (shape[i - lead] != gs[i]) throw new ShapeException("sum_to_shape: cannot reduce " + Shapes.str(gs) + " to " + Shapes.str(shape));
        }
        Backend be = Backends.of(g);
        if (n == 0) {
            Tensor c = be.contiguous(g);
            Tensor r = c.asStrided(shape, Shapes.contiguousStrides(shape), 0);
            c.close();
            return r;
        }
        Tensor s = be.reduce(ReduceOp.SUM, g, java.util.Arrays.copyOf(dims, n), true);
        Tensor r = s.asStrided(shape, Shapes.contiguousStrides(shape), 0);
        s.close();
        return r;
    }
}
