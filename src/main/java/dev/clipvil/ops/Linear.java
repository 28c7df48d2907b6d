package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.tensor.DType;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/**
 * Differentiable matrix products. Under {@link Autocast#bf16()} each is one node with BF16 operands,
 * F32 accumulation and an F32 result written by the GEMM itself ({@link Backend#matmul(Tensor, Tensor,
 * Tensor, DType)}); its backward lowers the output gradient once and runs both gradient GEMMs with F32
 * results (see {@link Autocast}).
 */
public final class Linear {
    private Linear() {}

    /** Batched a [..., M, K] @ b [..., K, N] (batch dims broadcast). */
    public static Tensor matmul(Tensor a, Tensor b) {
        if (Autocast.applies(a, b)) return autocastMatmul(a, b);
        Backend be = Backends.of("matmul", a, b);
        Tensor out = be.matmul(a, b, null);
        int[] as = a.shape(), bs = b.shape();
        return Autograd.record("matmul", out, new Tensor[]{a, b}, new Tensor[]{a, b}, (g, s) -> {
            Backend bg = Backends.of(g);
            Tensor ga = null, gb = null;
            if (Autograd.isRecorded(s[0])) {
                Tensor bt = s[1].asStrided(swapLast(s[1].shape()), swapLast(s[1].strides()), s[1].offset());
                ga = Elementwise.reduced(bg.matmul(g, bt, null), as);
                bt.close();
            }
            if (Autograd.isRecorded(s[1])) {
                Tensor at = s[0].asStrided(swapLast(s[0].shape()), swapLast(s[0].strides()), s[0].offset());
                gb = Elementwise.reduced(bg.matmul(at, g, null), bs);
                at.close();
            }
            return new Tensor[]{ga, gb};
        });
    }

    /** x [..., in] @ weight[out, in]^T + bias[out], as torch.nn.functional.linear. */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        if (weight.dim() != 2 || x.dim() < 1 || x.shape(-1) != weight.shape(1)) {
            throw new ShapeException("linear: input " + Shapes.str(x.shape()) + " does not match weight " + Shapes.str(weight.shape()));
        }
        if (Autocast.applies(x, weight, bias)) return autocastLinear(x, weight, bias);
        Backend be = Backends.of("linear", x, weight, bias);
        int[] xs = x.shape();
        int in = weight.shape(1), outF = weight.shape(0);
        int rows = x.numel() / Math.max(in, 1);
        Tensor x2 = x.isContiguous() ? x.asStrided(new int[]{rows, in}, new int[]{in, 1}, x.offset()) : flatCopy(be, x, rows, in);
        Tensor wt = weight.asStrided(new int[]{in, outF}, new int[]{weight.stride(1), weight.stride(0)}, weight.offset());
        Tensor y2 = be.matmul(x2, wt, bias);
        x2.close();
        wt.close();
        int[] os = xs.clone();
        os[os.length - 1] = outF;
        Tensor out = y2.asStrided(os, Shapes.contiguousStrides(os), 0);
        y2.close();
        Tensor[] inputs = bias == null ? new Tensor[]{x, weight} : new Tensor[]{x, weight, bias};
        return Autograd.record("linear", out, inputs, new Tensor[]{x, weight}, (g, s) -> {
            Backend bg = Backends.of(g);
            Tensor gc = g.isContiguous() ? g.asStrided(new int[]{rows, outF}, new int[]{outF, 1}, g.offset()) : flatCopy(bg, g, rows, outF);
            Tensor gx = null, gw = null, gbias = null;
            if (Autograd.isRecorded(s[0])) {
                Tensor w = s[1];
                Tensor gx2 = bg.matmul(gc, w, null);
                gx = gx2.asStrided(xs, Shapes.contiguousStrides(xs), 0);
                gx2.close();
            }
            if (Autograd.isRecorded(s[1])) {
                Tensor xc = s[0].isContiguous() ? s[0].asStrided(new int[]{rows, in}, new int[]{in, 1}, s[0].offset()) : flatCopy(bg, s[0], rows, in);
                Tensor gt = gc.asStrided(new int[]{outF, rows}, new int[]{1, outF}, gc.offset());
                gw = bg.matmul(gt, xc, null);
                gt.close();
                xc.close();
            }
            if (inputs.length == 3 && Autograd.isRecorded(inputs[2])) {
                gbias = bg.reduce(dev.clipvil.backend.ReduceOp.SUM, gc, new int[]{0}, false);
            }
            gc.close();
            return bias == null ? new Tensor[]{gx, gw} : new Tensor[]{gx, gw, gbias};
        });
    }

    /**
     * The autocast matmul, one node: a and b lowered ({@link Autocast#operand}), their product summed and
     * written in F32. Backward: g lowered once, ga = g b^T and gb = a^T g as F32 GEMMs (summed over
     * broadcast batch dims), each in its input's dtype.
     */
    private static Tensor autocastMatmul(Tensor a, Tensor b) {
        Backend be = Backends.of("matmul", a, b);
        boolean needA = Autograd.needsGrad(a), needB = Autograd.needsGrad(b);
        Tensor al = Autocast.operand(a), bl = null, out;
        try {
            bl = Autocast.operand(b);
            out = be.matmul(al, bl, null, DType.F32);
        } finally {
            // ga needs b's lowered values, gb a's
            if (!needB) al.close();
            if (!needA && bl != null) bl.close();
        }
        int[] as = a.shape(), bs = b.shape();
        DType at = a.dtype(), bt = b.dtype();
        return Autograd.record("matmul", out, new Tensor[]{a, b}, new Tensor[]{needB ? al : null, needA ? bl : null}, (g, s) -> {
            Backend bg = Backends.of(g);
            Tensor gl = Autocast.gradOperand(g);
            Tensor ga = null, gb = null;
            if (s[1] != null) {
                Tensor btr = s[1].asStrided(swapLast(s[1].shape()), swapLast(s[1].strides()), s[1].offset());
                ga = Autocast.gradAs(Elementwise.reduced(bg.matmul(gl, btr, null, DType.F32), as), at);
                btr.close();
            }
            if (s[0] != null) {
                Tensor atr = s[0].asStrided(swapLast(s[0].shape()), swapLast(s[0].strides()), s[0].offset());
                gb = Autocast.gradAs(Elementwise.reduced(bg.matmul(atr, gl, null, DType.F32), bs), bt);
                atr.close();
            }
            gl.close();
            return new Tensor[]{ga, gb};
        });
    }

    /**
     * The autocast linear, one node: x and weight lowered ({@link Autocast#operand}; the weight's copy
     * from the weight-cast cache), x W^T + bias with the F32 bias in the GEMM's epilogue and the F32
     * result written directly. Backward: g lowered once; gx = g W and gW = g^T x as F32 GEMMs; gbias
     * the F32 sum of g (not rounded).
     */
    private static Tensor autocastLinear(Tensor x, Tensor weight, Tensor bias) {
        Backend be = Backends.of("linear", x, weight, bias);
        boolean needX = Autograd.needsGrad(x), needW = Autograd.needsGrad(weight);
        int[] xs = x.shape();
        int in = weight.shape(1), outF = weight.shape(0);
        int rows = x.numel() / Math.max(in, 1);
        Tensor xl = Autocast.operand(x), wl = null, y2;
        Tensor fb = bias == null || bias.dtype() == DType.F32 ? bias : be.cast(bias, DType.F32);
        try {
            wl = Autocast.operand(weight);
            Tensor x2 = rows2d(be, xl, rows, in);
            Tensor wt = wl.asStrided(new int[]{in, outF}, new int[]{wl.stride(1), wl.stride(0)}, wl.offset());
            y2 = be.matmul(x2, wt, fb, DType.F32);
            x2.close();
            wt.close();
        } finally {
            // gx needs the weight's lowered values, gW x's
            if (!needW) xl.close();
            if (!needX && wl != null) wl.close();
            if (fb != bias) fb.close();
        }
        int[] os = xs.clone();
        os[os.length - 1] = outF;
        Tensor out = y2.asStrided(os, Shapes.contiguousStrides(os), 0);
        y2.close();
        Tensor[] inputs = bias == null ? new Tensor[]{x, weight} : new Tensor[]{x, weight, bias};
        DType xt = x.dtype(), wtype = weight.dtype(), btype = bias == null ? null : bias.dtype();
        return Autograd.record("linear", out, inputs, new Tensor[]{needW ? xl : null, needX ? wl : null}, (g, s) -> {
            Backend bg = Backends.of(g);
            Tensor gx = null, gw = null, gbias = null;
            // g is lowered only for the GEMMs: a bias alone needs just the F32 sum
            Tensor gl = s[0] == null && s[1] == null ? null : Autocast.gradOperand(g);
            Tensor gc = gl == null ? null : rows2d(bg, gl, rows, outF);
            if (gl != null) gl.close();
            if (s[1] != null) {
                Tensor gx2 = bg.matmul(gc, s[1], null, DType.F32);
                gx = Autocast.gradAs(gx2.asStrided(xs, Shapes.contiguousStrides(xs), 0), xt);
                gx2.close();
            }
            if (s[0] != null) {
                Tensor xc = rows2d(bg, s[0], rows, in);
                Tensor gt = gc.asStrided(new int[]{outF, rows}, new int[]{1, outF}, gc.offset());
                gw = Autocast.gradAs(bg.matmul(gt, xc, null, DType.F32), wtype);
                gt.close();
                xc.close();
            }
            if (gc != null) gc.close();
            if (inputs.length == 3 && Autograd.isRecorded(inputs[2])) {
                int[] dims = new int[xs.length - 1];
                for (int i = 0; i < dims.length; i++) dims[i] = i;
                Tensor gf = g.dtype() == DType.F32 ? g : bg.cast(g, DType.F32);
                gbias = Autocast.gradAs(dims.length == 0 ? bg.contiguous(gf) : bg.reduce(dev.clipvil.backend.ReduceOp.SUM, gf, dims, false), btype);
                if (gf != g) gf.close();
            }
            return bias == null ? new Tensor[]{gx, gw} : new Tensor[]{gx, gw, gbias};
        });
    }

    /** A new [rows, cols] handle on {@code t}'s elements: a view when contiguous, else a contiguous copy. */
    private static Tensor rows2d(Backend be, Tensor t, int rows, int cols) {
        return t.isContiguous() ? t.asStrided(new int[]{rows, cols}, new int[]{cols, 1}, t.offset()) : flatCopy(be, t, rows, cols);
    }

    private static Tensor flatCopy(Backend be, Tensor x, int rows, int cols) {
        Tensor c = be.contiguous(x);
        Tensor r = c.asStrided(new int[]{rows, cols}, new int[]{cols, 1}, 0);
        c.close();
        return r;
    }

    private static int[] swapLast(int[] a) {
        int[] r = a.clone();
        int n = r.length;
        r[n - 1] = a[n - 2];
        r[n - 2] = a[n - 1];
        return r;
    }
}
