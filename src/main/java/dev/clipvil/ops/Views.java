package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.Arrays;

/** Differentiable views: they share storage with their input and copy nothing (reshape copies only when it must). */
public final class Views {
    private Views() {}

    /** Resolves one -1 in {@code shape} against {@code numel}. */
    static int[] inferShape(String op, int[] shape, int numel, int[] from) {
        int[] s = shape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) {
                if (infer >= 0) throw new ShapeException(op + ": only one dimension can be -1, got " + Shapes.str(shape));
                infer = i;
            } else if (s[i] < 0) {
                throw new ShapeException(op + ": bad dimension " + s[i] + " in " + Shapes.str(shape));
            } else known *= s[i];
        }
        if (infer >= 0) {
            if (known == 0 || numel % known != 0) throw new ShapeException(op + ": shape " + Shapes.str(shape) + " is invalid for input of shape " + Shapes.str(from));
            s[infer] = (int) (numel / known);
        }
        if (Shapes.numel(s) != numel) throw new ShapeException(op + ": shape " + Shapes.str(shape) + " is invalid for input of shape " + Shapes.str(from) + " (" + numel + " elements)");
        return s;
    }

    /** A view with a new shape; the input must be contiguous (use {@link #reshape} otherwise). */
    public static Tensor view(Tensor x, int... shape) {
        int[] s = inferShape("view", shape, x.numel(), x.shape());
        if (!x.isContiguous()) throw new ShapeException("view: input of shape " + Shapes.str(x.shape()) + " strides " + Shapes.str(x.strides()) + " is not contiguous; use reshape");
        Tensor out = x.asStrided(s, Shapes.contiguousStrides(s), x.offset());
        int[] inShape = x.shape();
        return Autograd.record("view", out, new Tensor[]{x}, null, (g, sv) -> new Tensor[]{reshape(g, inShape)});
    }

    /** A view when the layout allows, else a contiguous copy. */
    public static Tensor reshape(Tensor x, int... shape) {
        if (x.isContiguous()) return view(x, shape);
        return view(contiguous(x), shape);
    }

    public static Tensor flatten(Tensor x, int startDim, int endDim) {
        int r = x.dim();
        if (r == 0) return reshape(x, 1);
        int s = Shapes.dim("flatten", startDim, r), e = Shapes.dim("flatten", endDim, r);
        int[] shape = x.shape();
        int[] out = new int[r - (e - s)];
        int j = 0;
        for (int i = 0; i < s; i++) out[j++] = shape[i];
        int m = 1;
        for (int i = s; i <= e; i++) m *= shape[i];
        out[j++] = m;
        for (int i = e + 1; i < r; i++) out[j++] = shape[i];
        return reshape(x, out);
    }

    /** A new handle on the same data that is cut from the graph: no gradient flows through it. */
    public static Tensor detach(Tensor x) {
        return x.asStrided(x.shape(), x.strides(), x.offset());
    }

    /** A contiguous tensor with the same values (a new handle on the same storage when already contiguous). */
    public static Tensor contiguous(Tensor x) {
        Backend be = Backends.of(x);
        Tensor out = x.isContiguous() ? x.asStrided(x.shape(), x.strides(), x.offset()) : be.contiguous(x);
        return Autograd.record("contiguous", out, new Tensor[]{x}, null, (g, s) -> new Tensor[]{g});
    }

    public static Tensor permute(Tensor x, int... dims) {
        int r = x.dim();
        if (dims.length != r) throw new ShapeException("permute: " + dims.length + " dims given for a tensor of shape " + Shapes.str(x.shape()));
        int[] shape = x.shape(), st = x.strides();
        int[] ns = new int[r], nst = new int[r], inv = new int[r];
        boolean[] used = new boolean[r];
        for (int i = 0; i < r; i++) {
            int d = Shapes.dim("permute", dims[i], r);
            if (used[d]) throw new ShapeException("permute: dimension " + d + " repeated in " + Arrays.toString(dims));
            used[d] = true;
            ns[i] = shape[d];
            nst[i] = st[d];
            inv[d] = i;
        }
        Tensor out = x.asStrided(ns, nst, x.offset());
        return Autograd.record("permute", out, new Tensor[]{x}, null, (g, s) -> new Tensor[]{permute(g, inv)});
    }

    public static Tensor transpose(Tensor x, int d0, int d1) {
        int r = x.dim();
        int a = Shapes.dim("transpose", d0, r), b = Shapes.dim("transpose", d1, r);
        int[] p = new int[r];
        for (int i = 0; i < r; i++) p[i] = i;
        p[a] = b;
        p[b] = a;
        return permute(x, p);
    }

    /** Elements [start, start+length) along {@code dim}. */
    public static Tensor narrow(Tensor x, int dim, int start, int length) {
        int d = Shapes.dim("narrow", dim, x.dim());
        int size = x.shape(d);
        if (start < 0 || length < 0 || start + length > size) {
            throw new ShapeException("narrow: range [" + start + ", " + (start + length) + ") is outside dimension " + d + " of size " + size + " in " + Shapes.str(x.shape()));
        }
        int[] ns = x.shape();
        ns[d] = length;
        Tensor out = x.asStrided(ns, x.strides(), x.offset() + start * x.stride(d));
        int[] inShape = x.shape();
        return Autograd.record("narrow", out, new Tensor[]{x}, null, (g, s) -> {
            Backend be = Backends.of(g);
            Tensor gx = be.empty(g.dtype(), inShape);
            be.fill(gx, 0);
            Tensor window = gx.asStrided(g.shape(), gx.strides(), start * gx.stride(d));
            be.copy(g, window);
            window.close();
            return new Tensor[]{gx};
        });
    }

    /** Index {@code i} along {@code dim}, dropping that dimension. */
    public static Tensor select(Tensor x, int dim, int index) {
        int d = Shapes.dim("select", dim, x.dim());
        return squeeze(narrow(x, d, index, 1), d);
    }

    /** Broadcast to {@code shape} (size-1 dims get stride 0; -1 keeps a dim). */
    public static Tensor expand(Tensor x, int... shape) {
        int r = shape.length, xr = x.dim();
        if (r < xr) throw new ShapeException("expand: cannot expand " + Shapes.str(x.shape()) + " to fewer dims " + Shapes.str(shape));
        int[] xs = x.shape(), xst = x.strides();
        int[] ns = new int[r], nst = new int[r];
        for (int i = 0; i < r; i++) {
            int j = i - (r - xr);
            int want = shape[i];
            if (j < 0) {
                if (want < 0) throw new ShapeException("expand: -1 is not allowed for new leading dims: " + Shapes.str(shape));
                ns[i] = want;
                nst[i] = 0;
            } else if (want == -1 || want == xs[j]) {
                ns[i] = xs[j];
                nst[i] = xst[j];
            } else if (xs[j] == 1) {
                ns[i] = want;
                nst[i] = 0;
            } else {
                throw new ShapeException("expand: cannot expand " + Shapes.str(xs) + " to " + Shapes.str(shape));
            }
        }
        Tensor out = x.asStrided(ns, nst, x.offset());
        int[] inShape = x.shape();
        return Autograd.record("expand", out, new Tensor[]{x}, null, (g, s) -> new Tensor[]{Reductions.sumToShape(g, inShape)});
    }

    public static Tensor unsqueeze(Tensor x, int dim) {
        int r = x.dim() + 1;
        int d = Shapes.dim("unsqueeze", dim, r);
        int[] shape = x.shape(), st = x.strides();
        int[] ns = new int[r], nst = new int[r];
        for (int i = 0, j = 0; i < r; i++) {
            if (i == d) {
                ns[i] = 1;
                nst[i] = j < shape.length ? st[j] * shape[j] : 1;
            } else {
                ns[i] = shape[j];
                nst[i] = st[j++];
            }
        }
        Tensor out = x.asStrided(ns, nst, x.offset());
        int[] inShape = x.shape();
        return Autograd.record("unsqueeze", out, new Tensor[]{x}, null, (g, s) -> new Tensor[]{reshapeView(g, inShape)});
    }

    /** Removes dimension {@code dim}, which must have size 1. */
    public static Tensor squeeze(Tensor x, int dim) {
        int d = Shapes.dim("squeeze", dim, x.dim());
        if (x.shape(d) != 1) throw new ShapeException("squeeze: dimension " + d + " of " + Shapes.str(x.shape()) + " is not of size 1");
        int[] shape = x.shape(), st = x.strides();
        int[] ns = new int[shape.length - 1], nst = new int[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) {
            if (i == d) continue;
            ns[j] = shape[i];
            nst[j++] = st[i];
        }
        Tensor out = x.asStrided(ns, nst, x.offset());
        int[] inShape = x.shape();
        return Autograd.record("squeeze", out, new Tensor[]{x}, null, (g, s) -> new Tensor[]{reshapeView(g, inShape)});
    }

    /** Gradient helper: reshape that keeps strides when only size-1 dims change. */
    private static Tensor reshapeView(Tensor g, int[] shape) { return reshape(g, shape); }

    /** Splits along {@code dim} into pieces of {@code size} (the last may be smaller): views. */
    public static Tensor[] split(Tensor x, int size, int dim) {
        int d = Shapes.dim("split", dim, x.dim());
        if (size <= 0) throw new ShapeException("split: size must be positive, got " + size);
        int n = x.shape(d);
        int pieces = Math.max(1, (n + size - 1) / size);
        Tensor[] out = new Tensor[pieces];
        for (int i = 0; i < pieces; i++) out[i] = narrow(x, d, i * size, Math.min(size, n - i * size));
        return out;
    }

    /** Splits along {@code dim} into pieces of the given sizes: views. */
    public static Tensor[] splitSizes(Tensor x, int[] sizes, int dim) {
        int d = Shapes.dim("split", dim, x.dim());
        int total = 0;
        for (int s : sizes) total += s;
        if (total != x.shape(d)) throw new ShapeException("split: sizes " + Arrays.toString(sizes) + " do not add up to dimension " + d + " of " + Shapes.str(x.shape()));
        Tensor[] out = new Tensor[sizes.length];
        int start = 0;
        for (int i = 0; i < sizes.length; i++) {
            out[i] = narrow(x, d, start, sizes[i]);
            start += sizes[i];
        }
        return out;
    }
}
