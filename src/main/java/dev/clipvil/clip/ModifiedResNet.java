package dev.clipvil.clip;

import dev.clipvil.nn.AvgPool2d;
import dev.clipvil.nn.BatchNorm2d;
import dev.clipvil.nn.Conv2d;
import dev.clipvil.nn.Init;
import dev.clipvil.nn.Layer;
import dev.clipvil.nn.Module;
import dev.clipvil.nn.ReLU;
import dev.clipvil.nn.Sequential;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * CLIP's ResNet image tower (OpenAI's {@code ModifiedResNet}): a stem of three 3x3 convs (the first
 * with stride 2; widths width/2, width/2, width; each followed by BatchNorm and ReLU) and a 2x2 average
 * pool, then four stages layer1..layer4 of {@link Bottleneck}s (planes w, 2w, 4w, 8w; the first block of
 * layer2..4 has stride 2; output channels 4x planes, so layer4 has width * 32 channels), then
 * {@link AttentionPool2d} ("attnpool"; CLIP uses heads = width * 32 / 64) down to [N, outputDim].
 * State-dict names are OpenAI's without the "visual." prefix of the full model ("conv1.weight",
 * "layer1.0.downsample.1.running_var", "attnpool.q_proj.weight", ...).
 *
 * <p>The conv stack accepts any input size (the CLIP-ViL grids: 448x448 -> 14x14, 384x640 -> 12x20,
 * 600x1000 -> 18x31; see {@link #gridSize}); {@link #forwardGrid} returns layer4's map, the CLIP-ViL grid
 * features. The attention pool resizes its positional embedding at sizes other than the trained one.
 *
 * <p>BatchNorm: the running statistics are <b>frozen</b> from construction (the layers normalise with
 * their running statistics even in training mode while their affine weights still train), which is how
 * a pretrained CLIP ResNet is fine-tuned; {@link #setBatchNormFrozen}(false) lets training mode use and
 * update batch statistics. Parameters are initialised as OpenAI's CLIP does (bn3 weight zero in every
 * block, the attention pool's projections N(0, E^-1/2)); real use loads a checkpoint over them.
 */
public final class ModifiedResNet extends Module implements ImageEncoder {
    private final int[] layers;
    private final int outputDim, heads, inputResolution, width;
    private final List<Layer> stem = new ArrayList<>();
    private final Sequential[] stages = new Sequential[4];
    private final AttentionPool2d attnpool;

    public ModifiedResNet(int[] layers, int outputDim, int heads, int inputResolution, int width, Init init) {
        if (layers == null || layers.length != 4) throw new IllegalArgumentException("ModifiedResNet: layers must have 4 entries, got " + Arrays.toString(layers));
        for (int b : layers) if (b < 1) throw new IllegalArgumentException("ModifiedResNet: every stage needs >= 1 block, got " + Arrays.toString(layers));
        if (width < 2 || width % 2 != 0) throw new IllegalArgumentException("ModifiedResNet: width must be a positive even number, got " + width);
        if (inputResolution < 32) throw new IllegalArgumentException("ModifiedResNet: input resolution must be >= 32, got " + inputResolution);
        this.layers = layers.clone();
        this.outputDim = outputDim;
        this.heads = heads;
        this.inputResolution = inputResolution;
        this.width = width;
        stem("conv1", new Conv2d(3, width / 2, 3, 2, 1, 1, 1, false, init));
        stem("bn1", new BatchNorm2d(width / 2));
        stem("relu1", new ReLU());
        stem("conv2", new Conv2d(width / 2, width / 2, 3, 1, 1, 1, 1, false, init));
        stem("bn2", new BatchNorm2d(width / 2));
        stem("relu2", new ReLU());
        stem("conv3", new Conv2d(width / 2, width, 3, 1, 1, 1, 1, false, init));
        stem("bn3", new BatchNorm2d(width));
        stem("relu3", new ReLU());
        stem("avgpool", new AvgPool2d(2));
        int inplanes = width;
        for (int s = 0; s < 4; s++) {
            int planes = width << s;
            Sequential stage = new Sequential();
            for (int b = 0; b < layers[s]; b++) {
                Bottleneck block = new Bottleneck(inplanes, planes, b == 0 && s > 0 ? 2 : 1, init);
                Init.zeros(block.bn3().namedParameters().get("weight"));
                stage.add(block);
                inplanes = planes * Bottleneck.EXPANSION;
            }
            stages[s] = registerModule("layer" + (s + 1), stage);
        }
        attnpool = registerModule("attnpool", new AttentionPool2d(inputResolution / 32, width * 32, heads, outputDim, init));
        setBatchNormFrozen(true);
    }

    private void stem(String name, Layer layer) { stem.add(registerModule(name, layer)); }

    /** The image embedding [N, outputDim] (unnormalised, as CLIP's encode_image) of pixels [N, 3, H, W]. */
    public Tensor forward(Tensor pixels) { return attnpool.forward(forwardGrid(pixels)); }

    /**
     * The CLIP-ViL grid features: layer4's output before attention pooling, [N, width * 32, gh, gw] with
     * (gh, gw) = ({@link #gridSize}(H), {@link #gridSize}(W)), for any input size that leaves at least one cell.
     */
    public Tensor forwardGrid(Tensor pixels) {
        if (pixels.dim() != 4 || pixels.shape(1) != 3) {
            throw new ShapeException("ModifiedResNet: expected pixels [N, 3, H, W], got " + Shapes.str(pixels.shape()));
        }
        if (gridSize(pixels.shape(2)) < 1 || gridSize(pixels.shape(3)) < 1) {
            throw new ShapeException("ModifiedResNet: input " + Shapes.str(pixels.shape()) + " is too small: layer4 would have no cell (H and W must be >= 31)");
        }
        Tensor x = pixels;
        for (Layer l : stem) x = l.forward(x);
        for (Sequential stage : stages) x = stage.forward(x);
        return x;
    }

    /**
     * The side of layer4's map for an input side of {@code n} pixels: the stride-2 stem conv gives
     * ceil(n / 2), then the stem pool and the three strided stages each floor-halve it.
     */
    public static int gridSize(int n) {
        int s = (n + 1) / 2;
        for (int i = 0; i < 4; i++) s /= 2;
        return s;
    }

    /**
     * Freezes (true) or releases (false) the running statistics of every BatchNorm2d in the tower.
     * Frozen, they normalise with the running statistics in training mode too. Returns this.
     */
    public ModifiedResNet setBatchNormFrozen(boolean frozen) {
        for (Module m : namedModules().values()) if (m instanceof BatchNorm2d bn) bn.setFrozen(frozen);
        return this;
    }

    /** {@link ImageEncoder}: the tower is its own module (its names are the "visual.*" keys under {@link Clip}). */
    @Override
    public Module module() { return this; }

    /** {@link ImageEncoder}: {@link #forward}. */
    @Override
    public Tensor encode(Tensor pixels) { return forward(pixels); }

    /** Stage {@code i} (1..4), a Sequential of Bottlenecks. */
    public Sequential layer(int i) {
        if (i < 1 || i > 4) throw new IllegalArgumentException("ModifiedResNet: stages are layer1..layer4, got " + i);
        return stages[i - 1];
    }

    public AttentionPool2d attnpool() { return attnpool; }

    public int[] layers() { return layers.clone(); }
    @Override
    public int outputDim() { return outputDim; }
    public int heads() { return heads; }
    /** The trained input side (the attention pool's positional embedding covers inputResolution / 32 squared). */
    @Override
    public int inputResolution() { return inputResolution; }
    public int width() { return width; }

    /** {@link ImageEncoder}: {@link #forwardGrid}. */
    @Override
    public Tensor grid(Tensor pixels) { return forwardGrid(pixels); }

    /** Channels of the grid features (layer4's output): width * 32. */
    @Override
    public int gridChannels() { return width * 32; }
}
