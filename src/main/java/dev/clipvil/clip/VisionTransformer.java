package dev.clipvil.clip;

import dev.clipvil.nn.Conv2d;
import dev.clipvil.nn.Init;
import dev.clipvil.nn.LayerNorm;
import dev.clipvil.nn.Module;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Indexing;
import dev.clipvil.ops.Linear;
import dev.clipvil.ops.Views;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

/**
 * CLIP's image transformer: conv patch embedding (no bias), class token, learned positional
 * embedding, ln_pre, pre-LN blocks, ln_post on the class token, projection. Parameter names and
 * initialisation scales follow OpenAI's {@code VisionTransformer} ("conv1.weight", "class_embedding",
 * "positional_embedding", "ln_pre.*", "transformer.resblocks.*", "ln_post.*", "proj").
 */
public final class VisionTransformer extends Module {
    private final int inputResolution, patchSize, width, grid;
    private final Conv2d conv1;
    private final LayerNorm lnPre, lnPost;
    private final Transformer transformer;

    public VisionTransformer(int inputResolution, int patchSize, int width, int layers, int heads, int outputDim, Init init) {
        if (inputResolution % patchSize != 0) {
            throw new IllegalArgumentException("VisionTransformer: input resolution " + inputResolution + " is not a multiple of the patch size " + patchSize);
        }
        this.inputResolution = inputResolution;
        this.patchSize = patchSize;
        this.width = width;
        this.grid = inputResolution / patchSize;
        double scale = Math.pow(width, -0.5);
        conv1 = registerModule("conv1", new Conv2d(3, width, patchSize, patchSize, 0, 1, 1, false, init));
        init.normal(registerParameter("class_embedding", Init.empty(width)), 0, scale);
        init.normal(registerParameter("positional_embedding", Init.empty(grid * grid + 1, width)), 0, scale);
        lnPre = registerModule("ln_pre", new LayerNorm(width));
        transformer = registerModule("transformer", new Transformer(width, layers, heads, init));
        lnPost = registerModule("ln_post", new LayerNorm(width));
        init.normal(registerParameter("proj", Init.empty(width, outputDim)), 0, scale);
    }

    /** Token states after the last block, before ln_post: [N, 1 + grid^2, width]. */
    public Tensor forwardTokens(Tensor pixels) {
        if (pixels.dim() != 4 || pixels.shape(1) != 3 || pixels.shape(2) != inputResolution || pixels.shape(3) != inputResolution) {
            throw new ShapeException("VisionTransformer: expected pixels [N, 3, " + inputResolution + ", " + inputResolution + "], got " + Shapes.str(pixels.shape()));
        }
        int n = pixels.shape(0);
        Tensor patches = conv1.forward(pixels);                                         // [N, W, g, g]
        Tensor tokens = Views.permute(Views.reshape(patches, n, width, grid * grid), 0, 2, 1); // [N, g*g, W]
        Tensor cls = Views.expand(Views.reshape(param("class_embedding"), 1, 1, width), n, 1, width);
        Tensor x = Indexing.cat(new Tensor[]{cls, tokens}, 1);
        x = Elementwise.add(x, param("positional_embedding"));
        return transformer.forward(lnPre.forward(x), null);
    }

    /** The projected image embedding [N, outputDim] (unnormalised, as CLIP's encode_image). */
    public Tensor forward(Tensor pixels) {
        Tensor h = forwardTokens(pixels);
        Tensor cls = lnPost.forward(Views.select(h, 1, 0));
        return Linear.matmul(cls, param("proj"));
    }

    public int inputResolution() { return inputResolution; }
    public int patchSize() { return patchSize; }
    public int width() { return width; }
}
