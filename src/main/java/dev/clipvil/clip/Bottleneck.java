package dev.clipvil.clip;

import dev.clipvil.nn.AvgPool2d;
import dev.clipvil.nn.BatchNorm2d;
import dev.clipvil.nn.Conv2d;
import dev.clipvil.nn.Identity;
import dev.clipvil.nn.Init;
import dev.clipvil.nn.Layer;
import dev.clipvil.nn.ReLU;
import dev.clipvil.nn.Sequential;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.tensor.Tensor;

/**
 * The residual block of CLIP's ModifiedResNet (OpenAI's {@code Bottleneck}, expansion 4): conv1 1x1 ->
 * bn1 -> relu1, conv2 3x3 (padding 1) -> bn2 -> relu2, avgpool(stride) when stride > 1 (anti-aliased
 * downsampling instead of a strided conv), conv3 1x1 -> bn3; the shortcut is the input, or, when
 * stride > 1 or the channel count changes, "downsample" = Sequential("-1": AvgPool2d(stride),
 * "0": 1x1 conv, "1": BatchNorm2d); relu3 after the sum. Every conv has stride 1 and no bias. Names
 * match OpenAI's state dicts ("conv1.weight", "bn1.running_mean", "downsample.0.weight", ...).
 */
public final class Bottleneck extends Layer {
    public static final int EXPANSION = 4;

    private final Conv2d conv1, conv2, conv3;
    private final BatchNorm2d bn1, bn2, bn3;
    private final Layer relu1, relu2, relu3, avgpool;
    private final Sequential downsample;
    private final int inplanes, planes, stride;

    public Bottleneck(int inplanes, int planes, int stride, Init init) {
        if (inplanes < 1 || planes < 1 || stride < 1) {
            throw new IllegalArgumentException("Bottleneck: inplanes, planes and stride must be >= 1, got " + inplanes + ", " + planes + ", " + stride);
        }
        this.inplanes = inplanes;
        this.planes = planes;
        this.stride = stride;
        int out = planes * EXPANSION;
        conv1 = registerModule("conv1", new Conv2d(inplanes, planes, 1, 1, 0, 1, 1, false, init));
        bn1 = registerModule("bn1", new BatchNorm2d(planes));
        relu1 = registerModule("relu1", new ReLU());
        conv2 = registerModule("conv2", new Conv2d(planes, planes, 3, 1, 1, 1, 1, false, init));
        bn2 = registerModule("bn2", new BatchNorm2d(planes));
        relu2 = registerModule("relu2", new ReLU());
        avgpool = registerModule("avgpool", stride > 1 ? new AvgPool2d(stride) : new Identity());
        conv3 = registerModule("conv3", new Conv2d(planes, out, 1, 1, 0, 1, 1, false, init));
        bn3 = registerModule("bn3", new BatchNorm2d(out));
        relu3 = registerModule("relu3", new ReLU());
        if (stride > 1 || inplanes != out) {
            downsample = registerModule("downsample", new Sequential()
                    .add("-1", new AvgPool2d(stride))
                    .add("0", new Conv2d(inplanes, out, 1, 1, 0, 1, 1, false, init))
                    .add("1", new BatchNorm2d(out)));
        } else {
            downsample = null;
        }
    }

    /** x [N, inplanes, H, W] -> [N, planes * 4, floor(H / stride), floor(W / stride)]. */
    @Override
    public Tensor forward(Tensor x) {
        Tensor out = relu1.forward(bn1.forward(conv1.forward(x)));
        out = relu2.forward(bn2.forward(conv2.forward(out)));
        out = bn3.forward(conv3.forward(avgpool.forward(out)));
        Tensor identity = downsample == null ? x : downsample.forward(x);
        return relu3.forward(Elementwise.add(out, identity));
    }

    /** bn3, whose weight CLIP initialises to zero so that each block starts as its shortcut. */
    public BatchNorm2d bn3() { return bn3; }

    public int inplanes() { return inplanes; }
    public int planes() { return planes; }
    public int stride() { return stride; }
    public int outChannels() { return planes * EXPANSION; }
}
