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

import java.util.HashSet;
import java.util.Set;

/**
 * CLIP's image transformer: conv patch embedding (no bias), class token, learned positional
 * embedding, ln_pre, pre-LN blocks, ln_post on the class token, projection. Parameter names and
 * initialisation scales follow OpenAI's {@code VisionTransformer} ("conv1.weight", "class_embedding",
 * "positional_embedding", "ln_pre.*", "transformer.resblocks.*", "ln_post.*", "proj").
 *
 * <p>Any input at least one patch high and wide is accepted (non-square too). As in the reference,
 * whose patch embedding is a conv with stride = kernel = patch, the last H mod patch rows and W mod
 * patch columns fall outside every patch and are ignored (600x1000 at patch 32 gives an 18x31 grid).
 * At a patch grid other than the trained one the grid part of the positional embedding is resized
 * bicubically ({@link PositionalEmbeddingInterpolation}), and that resized embedding, computed from the
 * parameter at every forward so that fine-tuning reaches it, is the one added to the tokens.
 * {@link #forwardGrid} gives the CLIP-ViL grid features of a ViT.
 */
public final class VisionTransformer extends Module {
    private final int inputResolution, patchSize, width, grid;
    private final Conv2d conv1;
    private final LayerNorm lnPre, lnPost;
    private final Transformer transformer;
    private final Set<String> resizeCache = new HashSet<>();

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

    /**
     * Token states after the last block, before ln_post: [N, 1 + gh*gw, width] for pixels [N, 3, H, W]
     * with H = gh * patch and W = gw * patch; the patch tokens are in row-major (y, x) order.
     */
    public Tensor forwardTokens(Tensor pixels) {
        int[] g = patchGrid(pixels);
        int n = pixels.shape(0), cells = g[0] * g[1];
        Tensor patches = conv1.forward(pixels);                                         // [N, W, gh, gw]
        Tensor tokens = Views.permute(Views.reshape(patches, n, width, cells), 0, 2, 1); // [N, gh*gw, W]
        Tensor cls = Views.expand(Views.reshape(param("class_embedding"), 1, 1, width), n, 1, width);
        Tensor x = Indexing.cat(new Tensor[]{cls, tokens}, 1);
        x = Elementwise.add(x, positionalEmbedding(g[0], g[1]));
        return transformer.forward(lnPre.forward(x), null);
    }

    /**
     * The grid features CLIP-ViL takes from a ViT: the patch tokens after the last block (class token
     * dropped) passed through ln_post, without the projection, as [N, width, gh, gw]. This is what
     * CLIP-ViL's detectron2 backbone computes ({@code ln_post(x[:, 1:, :])}, then permute and reshape).
     */
    public Tensor forwardGrid(Tensor pixels) {
        int[] g = patchGrid(pixels);
        int n = pixels.shape(0);
        Tensor h = forwardTokens(pixels);
        Tensor patches = lnPost.forward(Views.narrow(h, 1, 1, g[0] * g[1]));          // [N, gh*gw, W]
        return Views.reshape(Views.permute(patches, 0, 2, 1), n, width, g[0], g[1]);
    }

    /**
     * The positional embedding for a gh x gw patch grid: the parameter itself at the trained grid, else
     * its bicubic resize (class token kept; the resampling matrix is cached per size as a non-persistent
     * buffer, so it follows the module's dtype and device and is freed with it).
     */
    public synchronized Tensor positionalEmbedding(int gh, int gw) {
        Tensor pe = param("positional_embedding");
        if (gh == grid && gw == grid) return pe;
        String name = PositionalEmbeddingInterpolation.cacheName(gh, gw);
        if (resizeCache.add(name)) {
            registerBuffer(name, PositionalEmbeddingInterpolation.matrixTensor(grid, grid, gh, gw, pe.dtype(), pe.device()), false);
        }
        return PositionalEmbeddingInterpolation.apply(pe, 1, buffer(name));
    }

    /** {gh, gw} = {H / patch, W / patch} (floored, as the strided patch conv) for pixels [N, 3, H, W]. */
    private int[] patchGrid(Tensor pixels) {
        if (pixels.dim() != 4 || pixels.shape(1) != 3 || pixels.shape(2) < patchSize || pixels.shape(3) < patchSize) {
            throw new ShapeException("VisionTransformer: expected pixels [N, 3, H, W] with H and W at least the patch size "
                    + patchSize + " (trained at " + inputResolution + "), got " + Shapes.str(pixels.shape()));
        }
        return new int[]{pixels.shape(2) / patchSize, pixels.shape(3) / patchSize};
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

    /** The side of the trained patch grid (inputResolution / patchSize). */
    public int grid() { return grid; }
}
