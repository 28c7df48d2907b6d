package dev.clipvil.nn;

import dev.clipvil.backend.Conv2dParams;
import dev.clipvil.ops.Convolution;
import dev.clipvil.tensor.Tensor;

/**
 * 2-D convolution over NCHW, as {@code torch.nn.Conv2d} with square kernel, stride, padding and
 * dilation: "weight" [out, in/groups, k, k] (kaiming-uniform, a = sqrt 5) and "bias" [out]
 * (U(+-1/sqrt fan_in)) when enabled.
 */
public class Conv2d extends Layer {
    private final int inChannels, outChannels, kernel;
    private final Conv2dParams params;

    /** Stride 1, no padding, bias on. */
    public Conv2d(int in, int out, int kernel) { this(in, out, kernel, 1, 0, 1, 1, true); }

    public Conv2d(int in, int out, int kernel, int stride, int padding, int dilation, int groups, boolean bias) {
        this(in, out, kernel, stride, padding, dilation, groups, bias, Init.global());
    }

    public Conv2d(int in, int out, int kernel, int stride, int padding, int dilation, int groups, boolean bias, Init init) {
        if (in < 1 || out < 1 || kernel < 1) throw new IllegalArgumentException("Conv2d: channels and kernel must be >= 1, got " + in + " -> " + out + ", k " + kernel);
        if (groups < 1 || in % groups != 0 || out % groups != 0) {
            throw new IllegalArgumentException("Conv2d: groups (" + groups + ") must divide both channel counts (" + in + ", " + out + ")");
        }
        this.inChannels = in;
        this.outChannels = out;
        this.kernel = kernel;
        this.params = new Conv2dParams(stride, stride, padding, padding, dilation, dilation, groups);
        Tensor w = registerParameter("weight", Init.empty(out, in / groups, kernel, kernel));
        init.kaimingUniform(w, Math.sqrt(5));
        if (bias) init.fanInUniform(registerParameter("bias", Init.empty(out)), in / groups * kernel * kernel);
    }

    @Override
    public Tensor forward(Tensor x) { return Convolution.conv2d(x, weight(), bias(), params); }

    public Tensor weight() { return param("weight"); }

    /** The bias, or null when disabled. */
    public Tensor bias() { return paramOrNull("bias"); }

    public Conv2dParams convParams() { return params; }

    public int inChannels() { return inChannels; }

    public int outChannels() { return outChannels; }

    public int kernel() { return kernel; }
}
