package dev.clipvil.ops;

import dev.clipvil.autograd.Autograd;
import dev.clipvil.backend.Backend;
import dev.clipvil.backend.Backends;
import dev.clipvil.backend.Conv2dParams;
import dev.clipvil.backend.ReduceOp;
import dev.clipvil.tensor.Tensor;

/** Differentiable convolution (NCHW), as torch.nn.functional.conv2d. */
public final class Convolution {
    private Convolution() {}

    /**
     * conv2d of x [N, C, H, W] with weight [K, C/groups, R, S] plus bias [K] (or null). The backward
     * pass runs the backend's input- and weight-gradient primitives; the bias gradient is the output
     * gradient summed over N, H and W. Under {@link Autocast#bf16()} x, weight and bias are lowered to BF16.
     */
    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, Conv2dParams p) {
        if (Autocast.applies(x, weight, bias)) return Autocast.lowered(t -> conv2d(t[0], t[1], t[2], p), x, weight, bias);
        Backend be = Backends.of("conv2d", x, weight, bias);
        Tensor out = be.conv2d(x, weight, bias, p);
        int[] xs = x.shape(), ws = weight.shape();
        boolean hasBias = bias != null, biasGrad = hasBias && Autograd.isRecorded(bias);
        Tensor[] inputs = bias == null ? new Tensor[]{x, weight} : new Tensor[]{x, weight, bias};
        return Autograd.record("conv2d", out, inputs, new Tensor[]{x, weight}, (g, s) -> {
            Backend bg = Backends.of(g);
            Tensor gx = Autograd.isRecorded(s[0]) ? bg.conv2dBackwardInput(g, s[1], xs, p) : null;
            Tensor gw = Autograd.isRecorded(s[1]) ? bg.conv2dBackwardWeight(g, s[0], ws, p) : null;
            if (!hasBias) return new Tensor[]{gx, gw};
            Tensor gb = biasGrad ? bg.reduce(ReduceOp.SUM, g, new int[]{0, 2, 3}, false) : null;
            return new Tensor[]{gx, gw, gb};
        });
    }

    /** conv2d with equal stride and padding on both axes, no dilation, one group. */
    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding) {
        return conv2d(x, weight, bias, Conv2dParams.of(stride, padding));
    }
}
