package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.backend.Pool2dParams;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/** Differentiable average pooling over NCHW inputs (CHW is accepted too), with PyTorch's semantics. */
public final class Pooling {
    private Pooling() {}

    /** torch.nn.functional.avg_pool2d with the given kernel, stride, padding, ceil_mode and count_include_pad. */
    public static Tensor avgPool2d(Tensor x, Pool2dParams p) {
        Tensor out = Backends.of(x).avgPool2d(x, p);
        int[] xs = x.shape();
        return Autograd.record("avg_pool2d", out, new Tensor[]{x}, null,
                (g, s) -> new Tensor[]{Backends.of(g).avgPool2dBackward(g, xs, p)});
    }

    /** Square kernel and stride, no padding. */
    public static Tensor avgPool2d(Tensor x, int kernel, int stride) { return avgPool2d(x, Pool2dParams.of(kernel, stride)); }

    /** torch.nn.functional.adaptive_avg_pool2d: windows [floor(i*in/out), ceil((i+1)*in/out)). */
    public static Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW) {
        Tensor out = Backends.of(x).adaptiveAvgPool2d(x, outH, outW);
        int[] xs = x.shape();
        return Autograd.record("adaptive_avg_pool2d", out, new Tensor[]{x}, null,
                (g, s) -> new Tensor[]{Backends.of(g).adaptiveAvgPool2dBackward(g, xs)});
    }

    /** The mean over H and W of an NCHW input: [N, C]. */
    public static Tensor globalAvgPool2d(Tensor x) {
        if (x.dim() != 4) throw new ShapeException("global_avg_pool2d: expected an NCHW input, got shape " + Shapes.str(x.shape()));
        Backend be = Backends.of(x);
        int[] xs = x.shape();
        int n = xs[0], c = xs[1];
        Tensor pooled = be.adaptiveAvgPool2d(x, 1, 1);
        Tensor out = pooled.asStrided(new int[]{n, c}, new int[]{c, 1}, pooled.offset());
        pooled.close();
        return Autograd.record("global_avg_pool2d", out, new Tensor[]{x}, null, (g, s) -> {
            Backend bg = Backends.of(g);
            Tensor g4 = OpUtil.reshaped(bg, g, n, c, 1, 1);
            Tensor gx = bg.adaptiveAvgPool2dBackward(g4, xs);
            g4.close();
            return new Tensor[]{gx};
        });
    }
}
