package dev.clipvil.clip;

import dev.clipvil.nn.Init;
import dev.clipvil.nn.Layer;
import dev.clipvil.nn.Linear;
import dev.clipvil.ops.Attention;
import dev.clipvil.ops.Elementwise;
import dev.clipvil.ops.Indexing;
import dev.clipvil.ops.Reductions;
import dev.clipvil.ops.Views;
import dev.clipvil.tensor.ShapeException;
import dev.clipvil.tensor.Shapes;
import dev.clipvil.tensor.Tensor;

import java.util.HashSet;
import java.util.Set;

/**
 * CLIP's attention pooling, the last stage of its ResNet image tower: the [N, C, H, W] feature map
 * becomes H*W tokens, their mean is prepended, a learned positional embedding is added, and one
 * multi-head attention whose only query is the mean token reads all H*W + 1 tokens; its output
 * projection gives [N, outputDim]. This is OpenAI's {@code AttentionPool2d} (F.multi_head_attention_forward
 * with separate q/k/v projection weights, the query being the mean token; computing every query and
 * keeping token 0, as older releases did, gives the same result).
 *
 * <p>Parameter names: "positional_embedding" [spacial^2 + 1, E], "k_proj", "q_proj", "v_proj" (E -> E)
 * and "c_proj" (E -> outputDim), with weights initialised N(0, E^-1/2) as CLIP's initialize_parameters
 * does. At a feature-map size other than the trained spacial x spacial, the grid part of the positional
 * embedding is resized bicubically ({@link PositionalEmbeddingInterpolation}); the reference only
 * supports the trained size.
 */
public final class AttentionPool2d extends Layer {
    private final int spacial, embedDim, heads, outputDim;
    private final Linear kProj, qProj, vProj, cProj;
    private final Set<String> resizeCache = new HashSet<>();

    public AttentionPool2d(int spacialDim, int embedDim, int heads, int outputDim, Init init) {
        if (spacialDim < 1 || embedDim < 1 || heads < 1 || embedDim % heads != 0 || outputDim < 1) {
            throw new IllegalArgumentException("AttentionPool2d: need spacial >= 1, embed dim a positive multiple of heads and output dim >= 1, got spacial "
                    + spacialDim + ", embed " + embedDim + ", heads " + heads + ", output " + outputDim);
        }
        this.spacial = spacialDim;
        this.embedDim = embedDim;
        this.heads = heads;
        this.outputDim = outputDim;
        double std = Math.pow(embedDim, -0.5);
        init.normal(registerParameter("positional_embedding", Init.empty(spacialDim * spacialDim + 1, embedDim)), 0, std);
        kProj = registerModule("k_proj", new Linear(embedDim, embedDim, true, init));
        qProj = registerModule("q_proj", new Linear(embedDim, embedDim, true, init));
        vProj = registerModule("v_proj", new Linear(embedDim, embedDim, true, init));
        cProj = registerModule("c_proj", new Linear(embedDim, outputDim, true, init));
        for (Linear l : new Linear[]{qProj, kProj, vProj, cProj}) init.normal(l.weight(), 0, std);
    }

    /** x [N, E, H, W] (any H, W >= 1) -> [N, outputDim]. */
    @Override
    public Tensor forward(Tensor x) {
        if (x.dim() != 4 || x.shape(1) != embedDim) {
            throw new ShapeException("AttentionPool2d(E=" + embedDim + "): expected features [N, " + embedDim + ", H, W], got " + Shapes.str(x.shape()));
        }
        int n = x.shape(0), h = x.shape(2), w = x.shape(3), s = h * w + 1, d = embedDim / heads;
        Tensor tokens = Views.permute(Views.reshape(x, n, embedDim, h * w), 0, 2, 1);           // [N, HW, E]
        Tensor mean = Reductions.mean(tokens, new int[]{1}, true);                              // [N, 1, E]
        Tensor seq = Elementwise.add(Indexing.cat(new Tensor[]{mean, tokens}, 1), positionalEmbedding(h, w)); // [N, S, E]
        Tensor q = Views.permute(Views.view(qProj.forward(Views.narrow(seq, 1, 0, 1)), n, 1, heads, d), 0, 2, 1, 3); // [N, H, 1, D]
        Tensor k = Views.permute(Views.view(kProj.forward(seq), n, s, heads, d), 0, 2, 1, 3);  // [N, H, S, D]
        Tensor v = Views.permute(Views.view(vProj.forward(seq), n, s, heads, d), 0, 2, 1, 3);
        Tensor o = Attention.scaledDotProduct(q, k, v, null, false, Double.NaN);               // [N, H, 1, D]
        return cProj.forward(Views.reshape(o, n, embedDim));
    }

    /**
     * The positional embedding for an h x w feature map: the parameter itself at the trained size,
     * else its bicubic resize (the resampling matrix is cached per size as a non-persistent buffer, so
     * it follows the module's dtype and device and is freed with it).
     */
    public synchronized Tensor positionalEmbedding(int h, int w) {
        Tensor pe = param("positional_embedding");
        if (h == spacial && w == spacial) return pe;
        String name = PositionalEmbeddingInterpolation.cacheName(h, w);
        if (resizeCache.add(name)) {
            registerBuffer(name, PositionalEmbeddingInterpolation.matrixTensor(spacial, spacial, h, w, pe.dtype(), pe.device()), false);
        }
        return PositionalEmbeddingInterpolation.apply(pe, 1, buffer(name));
    }

    public int spacialDim() { return spacial; }
    public int embedDim() { return embedDim; }
    public int heads() { return heads; }
    public int outputDim() { return outputDim; }
}
