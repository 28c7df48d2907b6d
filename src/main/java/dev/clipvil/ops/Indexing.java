package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.DTypeException;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.Arrays;

/** Differentiable gather and concatenation: embedding lookup, index_select, cat and stack. */
public final class Indexing {
    private Indexing() {}

    /**
     * Rows of {@code weight} [V, D] picked by {@code ids} (I32/I64, any shape): [...ids shape, D]. The
     * gradient scatter-adds into a [V, D] zero tensor, so repeated ids accumulate.
     */
    public static Tensor embedding(Tensor weight, Tensor ids) {
        if (weight.dim() != 2) throw new ShapeException("embedding: weight must be [num_embeddings, dim], got " + Shapes.str(weight.shape()));
        requireIds("embedding", ids);
        Backend be = Backends.of("embedding", weight, ids);
        int n = ids.numel(), dim = weight.shape(1);
        int[] ws = weight.shape(), is = ids.shape();
        Tensor flat = OpUtil.reshaped(be, ids, n);
        Tensor rows;
        try {
            rows = be.indexSelect(weight, 0, flat);
        } finally {
            flat.close();
        }
        int[] os = Arrays.copyOf(is, is.length + 1);
        os[is.length] = dim;
        Tensor out = rows.asStrided(os, Shapes.contiguousStrides(os), rows.offset());
        rows.close();
        return Autograd.record("embedding", out, new Tensor[]{weight}, new Tensor[]{ids}, (g, s) -> {
            Backend bg = Backends.of(g);
            Tensor ix = OpUtil.reshaped(bg, s[0], n), g2 = OpUtil.reshaped(bg, g, n, dim);
            Tensor gw = bg.indexAdd(ws, 0, ix, g2);
            ix.close();
            g2.close();
            return new Tensor[]{gw};
        });
    }

    /** Slices of {@code x} along {@code dim} picked by the 1-D {@code index} (I32/I64), as torch.index_select. */
    public static Tensor indexSelect(Tensor x, int dim, Tensor index) {
        requireIds("index_select", index);
        Backend be = Backends.of("index_select", x, index);
        int d = Shapes.dim("index_select", dim, x.dim());
        Tensor out = be.indexSelect(x, d, index);
        int[] xs = x.shape();
        return Autograd.record("index_select", out, new Tensor[]{x}, new Tensor[]{index},
                (g, s) -> new Tensor[]{Backends.of(g).indexAdd(xs, d, s[0], g)});
    }

    /** Concatenation along {@code dim}; shapes must match elsewhere. Each input's gradient is its slice of g. */
    public static Tensor cat(Tensor[] xs, int dim) {
        if (xs.length == 0) throw new ShapeException("cat: needs at least one tensor");
        Backend be = Backends.of("cat", xs);
        int d = Shapes.dim("cat", dim, xs[0].dim());
        Tensor out = be.cat(xs, d);
        return Autograd.record("cat", out, xs.clone(), null, slices(xs, d, false));
    }

    /** Stacks equally shaped tensors along a new dimension {@code dim} (in [-(rank+1), rank]). */
    public static Tensor stack(Tensor[] xs, int dim) {
        if (xs.length == 0) throw new ShapeException("stack: needs at least one tensor");
        int[] shape = xs[0].shape();
        for (Tensor t : xs) {
            if (!Arrays.equals(shape, t.shape())) throw new ShapeException("stack: shapes " + Shapes.str(shape) + " and " + Shapes.str(t.shape()) + " differ");
        }
        Backend be = Backends.of("stack", xs);
        int d = Shapes.dim("stack", dim, shape.length + 1);
        Tensor[] parts = new Tensor[xs.length];
        Tensor out;
        try {
            for (int i = 0; i < xs.length; i++) parts[i] = unsqueezed(xs[i], d);
            out = be.cat(parts, d);
        } finally {
            for (Tensor p : parts) if (p != null) p.close();
        }
        return Autograd.record("stack", out, xs.clone(), null, slices(xs, d, true));
    }

    /** The backward of cat/stack: input i gets the window of g it came from (a view), or null if it needs none. */
    private static dev.clipvil.autograd.BackwardFn slices(Tensor[] xs, int d, boolean squeeze) {
        int k = xs.length;
        int[][] shapes = new int[k][];
        int[] starts = new int[k];
        boolean[] need = new boolean[k];
        int at = 0;
        for (int i = 0; i < k; i++) {
            shapes[i] = xs[i].shape();
            starts[i] = at;
            at += squeeze ? 1 : shapes[i][d];
            need[i] = Autograd.needsGrad(xs[i]);
        }
        return (g, s) -> {
            Tensor[] gs = new Tensor[k];
            int[] gst = g.strides();
            for (int i = 0; i < k; i++) {
                if (!need[i]) continue;
                int off = g.offset() + starts[i] * gst[d];
                if (squeeze) {
                    int[] st = new int[gst.length - 1];
                    for (int a = 0, b = 0; a < gst.length; a++) if (a != d) st[b++] = gst[a];
                    gs[i] = g.asStrided(shapes[i], st, off);
                } else {
                    gs[i] = g.asStrided(shapes[i], gst, off);
                }
            }
            return gs;
        };
    }

    /** A handle on {@code x} with a size-1 dimension inserted at {@code d} (no autograd). */
    private static Tensor unsqueezed(Tensor x, int d) {
        int[] s = x.shape(), st = x.strides();
        int[] ns = new int[s.length + 1], nst = new int[s.length + 1];
        for (int i = 0, j = 0; i < ns.length; i++) {
            if (i == d) { ns[i] = 1; nst[i] = 1; }
            else { ns[i] = s[j]; nst[i] = st[j++]; }
        }
        return x.asStrided(ns, nst, x.offset());
    }

    private static void requireIds(String op, Tensor ids) {
        if (ids.dtype() != DType.I32 && ids.dtype() != DType.I64) throw new DTypeException(op + ": indices must be I32 or I64, got " + ids.describe());
    }
}
