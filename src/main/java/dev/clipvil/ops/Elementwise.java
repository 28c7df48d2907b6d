package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.backend.BinaryOp;
import dev.clipvil.backend.CompareOp;
import dev.clipvil.backend.UnaryOp;
import dev.clipvil.tensor.Tensor;

/** Differentiable elementwise functions with broadcasting. */
public final class Elementwise {
    private Elementwise() {}

    // ---- binary ---------------------------------------------------------------------------

    public static Tensor add(Tensor a, Tensor b) {
        Tensor out = Backends.of("add", a, b).binary(BinaryOp.ADD, a, b);
        int[] as = a.shape(), bs = b.shape();
        return Autograd.record("add", out, new Tensor[]{a, b}, null,
                (g, s) -> new Tensor[]{Reductions.sumToShape(g, as), Reductions.sumToShape(g, bs)});
    }

    public static Tensor sub(Tensor a, Tensor b) {
        Tensor out = Backends.of("sub", a, b).binary(BinaryOp.SUB, a, b);
        int[] as = a.shape(), bs = b.shape();
        return Autograd.record("sub", out, new Tensor[]{a, b}, null, (g, s) -> {
            Tensor nb = Backends.of(g).unary(UnaryOp.NEG, g);
            Tensor gb = Reductions.sumToShape(nb, bs);
            if (gb != nb) nb.close();
            return new Tensor[]{Reductions.sumToShape(g, as), gb};
        });
    }

    public static Tensor mul(Tensor a, Tensor b) {
        Tensor out = Backends.of("mul", a, b).binary(BinaryOp.MUL, a, b);
        int[] as = a.shape(), bs = b.shape();
        return Autograd.record("mul", out, new Tensor[]{a, b}, new Tensor[]{a, b}, (g, s) -> {
            Backend be = Backends.of(g);
            Tensor ga = null, gb = null;
            if (Autograd.isRecorded(s[0]) || s[0].requiresGrad()) ga = reduced(be.binary(BinaryOp.MUL, g, s[1]), as);
            if (Autograd.isRecorded(s[1]) || s[1].requiresGrad()) gb = reduced(be.binary(BinaryOp.MUL, g, s[0]), bs);
            return new Tensor[]{ga, gb};
        });
    }

    public static Tensor div(Tensor a, Tensor b) {
        Tensor out = Backends.of("div", a, b).binary(BinaryOp.DIV, a, b);
        int[] as = a.shape(), bs = b.shape();
        return Autograd.record("div", out, new Tensor[]{a, b}, new Tensor[]{b, out}, (g, s) -> {
            Backend be = Backends.of(g);
            Tensor ga = reduced(be.binary(BinaryOp.DIV, g, s[0]), as);
            // d(a/b)/db = -(a/b)/b
            Tensor t = be.binary(BinaryOp.MUL, g, s[1]);
            Tensor t2 = be.binary(BinaryOp.DIV, t, s[0]);
            t.close();
            Tensor t3 = be.unary(UnaryOp.NEG, t2);
            t2.close();
            return new Tensor[]{ga, reduced(t3, bs)};
        });
    }

    /** Elementwise maximum; the gradient goes to a where a >= b. */
    public static Tensor maximum(Tensor a, Tensor b) {
        Backend be = Backends.of("maximum", a, b);
        Tensor out = be.binary(BinaryOp.MAX, a, b);
        int[] as = a.shape(), bs = b.shape();
        return Autograd.record("maximum", out, new Tensor[]{a, b}, new Tensor[]{a, b}, (g, s) -> {
            Backend bg = Backends.of(g);
            Tensor m = bg.compare(CompareOp.GE, s[0], s[1]);
            Tensor zero = bg.empty(g.dtype());
            bg.fill(zero, 0);
            Tensor ga = bg.where(m, g, zero), gb = bg.where(m, zero, g);
            m.close();
            zero.close();
            return new Tensor[]{reduced(ga, as), reduced(gb, bs)};
        });
    }

    /** Sums {@code t} down to {@code shape} and closes {@code t} if a new tensor was made. */
    static Tensor reduced(Tensor t, int[] shape) {
        Tensor r = Reductions.sumToShape(t, shape);
        if (r != t) t.close();
        return r;
    }

    // ---- with a scalar --------------------------------------------------------------------

    public static Tensor add(Tensor a, double s) {
        Tensor out = Backends.of(a).binaryScalar(BinaryOp.ADD, a, s);
        return Autograd.record("add_scalar", out, new Tensor[]{a}, null, (g, sv) -> new Tensor[]{g});
    }

    public static Tensor mul(Tensor a, double s) {
        Tensor out = Backends.of(a).binaryScalar(BinaryOp.MUL, a, s);
        return Autograd.record("mul_scalar", out, new Tensor[]{a}, null,
                (g, sv) -> new Tensor[]{Backends.of(g).binaryScalar(BinaryOp.MUL, g, s)});
    }

    /** s - a. */
    public static Tensor rsub(double s, Tensor a) {
        Tensor out = Backends.of(a).binaryScalar(BinaryOp.RSUB, a, s);
        return Autograd.record("rsub_scalar", out, new Tensor[]{a}, null,
                (g, sv) -> new Tensor[]{Backends.of(g).unary(UnaryOp.NEG, g)});
    }

    public static Tensor div(Tensor a, double s) { return mul(a, 1.0 / s); }

    /** a ^ p for a scalar exponent. */
    public static Tensor pow(Tensor a, double p) {
        Backend be = Backends.of(a);
        Tensor out = be.binaryScalar(BinaryOp.POW, a, p);
        return Autograd.record("pow", out, new Tensor[]{a}, new Tensor[]{a}, (g, s) -> {
            Backend bg = Backends.of(g);
            Tensor d = bg.binaryScalar(BinaryOp.POW, s[0], p - 1);
            Tensor d2 = bg.binaryScalar(BinaryOp.MUL, d, p);
            d.close();
            Tensor r = bg.binary(BinaryOp.MUL, g, d2);
            d2.close();
            return new Tensor[]{r};
        });
    }

    // ---- unary ----------------------------------------------------------------------------

    public static Tensor unary(UnaryOp op, Tensor x) {
        Tensor out = Backends.of(x).unary(op, x);
        return Autograd.record(op.name().toLowerCase(), out, new Tensor[]{x}, new Tensor[]{x, out},
                (g, s) -> new Tensor[]{Backends.of(g).unaryBackward(op, s[0], s[1], g)});
    }

    public static Tensor neg(Tensor x) { return unary(UnaryOp.NEG, x); }
    public static Tensor exp(Tensor x) { return unary(UnaryOp.EXP, x); }
    public static Tensor log(Tensor x) { return unary(UnaryOp.LOG, x); }
    public static Tensor sqrt(Tensor x) { return unary(UnaryOp.SQRT, x); }
    public static Tensor rsqrt(Tensor x) { return unary(UnaryOp.RSQRT, x); }
    public static Tensor tanh(Tensor x) { return unary(UnaryOp.TANH, x); }
    public static Tensor sigmoid(Tensor x) { return unary(UnaryOp.SIGMOID, x); }
    public static Tensor relu(Tensor x) { return unary(UnaryOp.RELU, x); }
    /** Exact GELU, 0.5 x (1 + erf(x / sqrt 2)). */
    public static Tensor gelu(Tensor x) { return unary(UnaryOp.GELU, x); }
    /** CLIP's x * sigmoid(1.702 x). */
    public static Tensor quickGelu(Tensor x) { return unary(UnaryOp.QUICK_GELU, x); }
    public static Tensor abs(Tensor x) { return unary(UnaryOp.ABS, x); }

    // ---- selection (not differentiable in the condition) ------------------------------------

    /** cond ? a : b; gradients flow to a where cond, to b elsewhere. */
    public static Tensor where(Tensor cond, Tensor a, Tensor b) {
        Backend be = Backends.of("where", cond, a, b);
        Tensor out = be.where(cond, a, b);
        int[] as = a.shape(), bs = b.shape();
        return Autograd.record("where", out, new Tensor[]{a, b}, new Tensor[]{cond}, (g, s) -> {
            Backend bg = Backends.of(g);
            Tensor zero = bg.empty(g.dtype());
            bg.fill(zero, 0);
            Tensor ga = bg.where(s[0], g, zero), gb = bg.where(s[0], zero, g);
            zero.close();
            return new Tensor[]{reduced(ga, as), reduced(gb, bs)};
        });
    }

    /** x with {@code value} where mask (BOOL, broadcast) is true. */
    public static Tensor maskedFill(Tensor x, Tensor mask, double value) {
        Backend be = Backends.of("masked_fill", x, mask);
        Tensor v = be.empty(x.dtype());
        be.fill(v, value);
        Tensor out = be.where(mask, v, x);
        v.close();
        int[] xs = x.shape();
        return Autograd.record("masked_fill", out, new Tensor[]{x}, new Tensor[]{mask}, (g, s) -> {
            Backend bg = Backends.of(g);
            Tensor zero = bg.empty(g.dtype());
            bg.fill(zero, 0);
            Tensor gx = bg.where(s[0], zero, g);
            zero.close();
            return new Tensor[]{reduced(gx, xs)};
        });
    }

    /** A BOOL tensor; not differentiable. */
    public static Tensor compare(CompareOp op, Tensor a, Tensor b) {
        return Backends.of(op.name(), a, b).compare(op, a, b);
    }

    /** A converted copy; the gradient is cast back. */
    public static Tensor cast(Tensor x, dev.clipvil.tensor.DType to) {
        Tensor out = Backends.of(x).cast(x, to);
        dev.clipvil.tensor.DType from = x.dtype();
        return Autograd.record("cast", out, new Tensor[]{x}, null, (g, s) -> new Tensor[]{Backends.of(g).cast(g, from)});
    }
}
