package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/** Differentiable matrix products (BF16 operands with F32 accumulation under {@link Autocast#bf16()}). */
public final class Linear {
    private Linear() {}

    /** Batched a [..., M, K] @ b [..., K, N] (batch dims broadcast). */
    public static Tensor matmul(Tensor a, Tensor b) {
        if (Autocast.applies(a, b)) return Autocast.lowered(t -> matmul(t[0], t[1]), a, b);
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
        if (Autocast.applies(x, weight, bias)) return Autocast.lowered(t -> linear(t[0], t[1], t[2]), x, weight, bias);
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
