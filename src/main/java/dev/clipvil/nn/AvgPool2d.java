package dev.clipvil.nn;

import dev.clipvil.backend.Pool2dParams;
import dev.clipvil.ops.Pooling;
import dev.clipvil.tensor.Tensor;

/**
 * Average pooling over NCHW, as {@code torch.nn.AvgPool2d(kernel, stride)} with no padding, floor
 * mode and padding counted (PyTorch's defaults). No parameters. {@code new AvgPool2d(k)} has stride k,
 * as PyTorch's one-argument constructor (CLIP's ResNet uses it for its anti-aliased downsampling).
 */
public class AvgPool2d extends Layer {
    private final Pool2dParams params;

    public AvgPool2d(int kernel) { this(kernel, kernel); }

    public AvgPool2d(int kernel, int stride) { this.params = Pool2dParams.of(kernel, stride); }

    @Override
    public Tensor forward(Tensor x) { return Pooling.avgPool2d(x, params); }

    public Pool2dParams poolParams() { return params; }
}
